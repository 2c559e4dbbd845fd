"""Storage: SQLAlchemy models, engines and sessions, and Alembic migrations."""
