"""Persistence of the audit journal: engine, tables and Alembic migrations."""
