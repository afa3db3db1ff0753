"""Settings by environment: ``local`` (make run), ``test`` (pytest) and ``production``."""
