"""Tests of app/db: engine, tables and migrations."""
