"""Revisions of the journal schema, applied in order by Alembic."""
