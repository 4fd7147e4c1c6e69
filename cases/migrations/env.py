"""Alembic environment: the metadata of every Caseflow table; batch mode for SQLite."""
from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import cases.models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata
# Full-text search structures the models cannot describe (migration 0013_findwork): SQLite's
# FTS5 table with its shadow tables, PostgreSQL's GIN expression index.
SEARCH_ONLY = ("case_search_fts", "ix_case_search_fts")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (reflected and compare_to is None and (name or "").startswith(SEARCH_ONLY))


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                         prefix="sqlalchemy.", poolclass=pool.NullPool)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
