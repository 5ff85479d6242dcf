"""Persistence: typed models, repositories and Alembic migrations. Services own the transactions."""
