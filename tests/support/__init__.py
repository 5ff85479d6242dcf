"""Test infrastructure: real servers the suite starts on loopback, and pytest fixtures for them.

- `tests.support.processes`: the life cycle both servers share (free port, bounded readiness poll,
  stop signal then SIGKILL, log tail in every error, run as another OS user).
- `tests.support.postgres`: a throw-away PostgreSQL cluster (`postgres_server`, `postgres_database_url`,
  `scratch_database()` to copy a template).
- `tests.support.alertmanager`: Debian's Alertmanager 0.25 sending real webhooks (`alertmanager_factory`).

The fixtures are plain functions for `tests/conftest.py` to import; nothing here starts at import time.
"""
