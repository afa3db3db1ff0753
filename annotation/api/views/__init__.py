"""The core's v1 API views, one module per resource (routed in annotation/api/urls.py):
``auth_users`` (tokens, users, me), ``projects`` (projects, progress, members),
``guidelines``, ``items`` (import and list items, list and change annotations) and ``queue``
(next, submit, skip). Each view is a thin call into a service or selector."""
