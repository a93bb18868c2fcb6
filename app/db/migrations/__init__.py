"""Alembic migrations of the journal; run them with `python -m app.db.migrate`."""
