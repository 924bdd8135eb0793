"""Settings for the test suite: the real settings, with what a fresh machine
lacks filled in (a secret key) and the in-process timer loop off, because
tests of single frames drive the timers themselves. ``DATABASE_URL`` and
``REDIS_URL`` still choose SQLite or PostgreSQL, in-memory or Redis."""

import os

os.environ.setdefault("SECRET_KEY", "test-suite-only-secret-key-never-used-in-production")
os.environ.setdefault("PARLEY_TIMERS_ENABLED", "false")
# pytest-xdist's workers share one Redis: each gets channel names of its own (groups are named after ids,
# which every worker's database hands out alike).
os.environ.setdefault("PARLEY_CHANNEL_PREFIX", "parley" + os.environ.get("PYTEST_XDIST_WORKER", ""))

from .settings import *  # noqa: E402,F403

# Fast password hashing: the suite signs in many agents.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Socket handlers run in worker threads; closing their connections after each
# call lets the test database be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
