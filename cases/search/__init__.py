"""Finding cases: full-text search (PostgreSQL tsvector, SQLite FTS5) and saved filters."""
