"""Settings for the test suite: a fixed secret, fast password hashing, a file-backed SQLite
test database so a real Celery worker process can share it."""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, VAR_DIR

SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789"  # test-only
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
SKEIN_LOGIN_RATE = "1000/min"
SKEIN_LOGIN_CLIENT_RATE = "1000/min"

# A queue of the run's own, so test runs sharing one broker never take each other's jobs.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("SKEIN_TEST_QUEUE", "skein-test")
# Serve app static files straight from their folders (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
