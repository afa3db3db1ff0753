"""Settings for ``make run`` on one machine: a generated secret kept under ``var/``."""

import secrets

from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR

if not SECRET_KEY:  # noqa: F405
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()
