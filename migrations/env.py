"""Alembic environment: the URL comes from the service's settings."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import make_url

import mail.infra.db_models  # noqa: F401
import note.infra.db_models  # noqa: F401  (registers the tables on Base.metadata)
import user.infra.db_models  # noqa: F401
from config import load_settings
from database.base import Base
from database.engine import ensure_sqlite_directory

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def database_url() -> str:
    """``python main.py`` and the tests pass the URL; the CLI reads the settings."""
    return config.attributes.get("database_url") or load_settings().sqlalchemy_url


def run_migrations_offline() -> None:
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=make_url(url).get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = database_url()
    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    ensure_sqlite_directory(url)
    # A plain engine on purpose: SQLite foreign keys stay OFF here, because a
    # batch migration recreates tables and, with them ON, dropping a parent
    # table would cascade-delete the rows of its children.
    connect_args = {"charset": "utf8mb4"} if make_url(url).get_backend_name() in ("mysql", "mariadb") else {}
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args, hide_parameters=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=is_sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
