"""The store: everything people edit, through SQLAlchemy on SQLite or PostgreSQL."""
