"""Typed readers for settings taken from the environment.

Why: a typo in a deployment's environment should stop the process at start with a message naming
the variable and what was wrong, not surface later as a confusing failure.
"""
from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as "20/min" (N per sec, min, hour or day)."""
    import re

    raw = os.environ.get(name, "").strip() or default
    if not re.fullmatch(r"[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)", raw):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate; write N/sec, N/min, N/hour or N/day, e.g. 20/min")
    return raw


# Values shipped in examples and docs: a server started with one of them signs sessions and CSRF tokens
# with a key that everyone who read the example knows.
PLACEHOLDER_SECRET_KEYS = ("change-me", "changeme", "replace-me", "your-secret-key", "secret", "django-insecure")


def env_secret_key(name: str, key_file, *, debug: bool) -> str:
    """SECRET_KEY from the environment, refusing a placeholder; unset ⇒ a random key kept in `key_file`.

    The generated file is created with mode 0600 (and an older, wider one is narrowed): it is the key to
    every session. A placeholder is refused unless DEBUG is on, with a message saying how to make a key.
    """
    raw = os.environ.get(name, "").strip()
    if raw:
        if not debug and raw.lower().startswith(PLACEHOLDER_SECRET_KEYS):
            raise ImproperlyConfigured(
                f"{name} is the placeholder {raw[:12]!r}…: set it to a long random value, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(50))'` (in docker/.env), "
                "or leave it unset for a local run")
        return raw
    import secrets

    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    if os.stat(key_file).st_mode & 0o077:
        os.chmod(key_file, 0o600)
    with open(key_file) as handle:
        return handle.read().strip()


def is_loopback_address(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    text = (host or "").strip().strip("[]").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def env_database(name: str, default_sqlite_path: str) -> dict:
    """DATABASE_URL → Django DATABASES['default']; unset ⇒ SQLite file in the project."""
    import dj_database_url

    raw = os.environ.get(name, "").strip()
    if not raw:
        raw = f"sqlite:///{default_sqlite_path}"
    if not raw.startswith(("sqlite:", "postgres:", "postgresql:", "pgsql:")):
        raise ImproperlyConfigured(f"{name}={raw!r}: only sqlite:///PATH and postgres://… URLs are supported")
    try:
        config = dj_database_url.parse(raw, conn_max_age=60 if raw.startswith("postg") else 0)
    except Exception as exc:  # dj_database_url raises several types on bad URLs
        raise ImproperlyConfigured(f"{name}={raw!r} is not a valid database URL: {exc}") from None
    if not config["ENGINE"].endswith("sqlite3"):
        # Persistent connections (conn_max_age) die with a database restart or failover; check a reused one
        # at the start of each request so the first request after it reconnects instead of answering 500.
        config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"].endswith("sqlite3"):
        # WAL + a busy timeout so that the web server and a worker can share the file.
        config.setdefault("OPTIONS", {}).update(
            {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
             "transaction_mode": "IMMEDIATE"})
    return config
