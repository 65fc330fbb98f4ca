"""The application factory, and ``python main.py``: migrate, then serve."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from alembic import command
from alembic.config import Config
from anyio import to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from config import Settings, load_settings
from containers import Container
from mail.infra.metrics import track_outbox_pending
from middlewares.activity_log import ActivityLogMiddleware
from middlewares.body_limit import BodySizeLimitMiddleware
from middlewares.error_handlers import register_error_handlers
from middlewares.request_context import RequestContextMiddleware
from note.interface.router import router as note_router
from observability.log import configure_logging
from user.application.user_service import AdminBootstrap
from user.interface.pages import router as user_pages_router
from user.interface.router import router as user_router
from web.operations import router as operations_router
from web.schemas import error_responses

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent
DESCRIPTION = """
Keep "Today I Learned" notes: sign up, log in with the OAuth2 password flow
(**Authorize** above: the username is your email), then write notes with a
learning date and tags.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Never migrates: run ``alembic upgrade head`` first (``python main.py`` does)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    container = Container(settings=settings)

    app = FastAPIOffline(
        title="TIL Notes",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=_lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
        # The body limit is the middleware's, on every route: any request may carry a body over 1 MiB.
        responses=error_responses(413),
    )
    app.state.container = container
    app.include_router(user_router)
    app.include_router(user_pages_router)
    app.include_router(note_router)
    app.include_router(operations_router)
    register_error_handlers(app)
    # Added innermost first: the request context wraps everything.
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(ActivityLogMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    container: Container = app.state.container
    settings: Settings = container.settings()
    # Few threads for the sync routes: on a small machine, 40 runnable threads
    # (anyio's default) spend their time contending for the GIL.
    to_thread.current_default_thread_limiter().total_tokens = settings.thread_pool_size
    if settings.first_admin_email and settings.first_admin_password:
        outcome = await run_in_threadpool(
            container.user_service().ensure_admin,
            email=settings.first_admin_email,
            password=settings.first_admin_password.get_secret_value(),
            name=settings.first_admin_name or "Administrator",
        )
        log = logger.warning if outcome is AdminBootstrap.NOT_ADMIN else logger.info
        log("first admin %s: %s", settings.first_admin_email, outcome.value)
    track_outbox_pending(lambda: container.outbox_service().pending_count())
    # Without a broker this process relays the outbox; with one, the Celery workers do.
    relay = container.web_email_relay()
    if relay is not None:
        relay.start()
    try:
        yield
    finally:
        if relay is not None:
            await run_in_threadpool(relay.stop)
        await run_in_threadpool(container.email_handoff().close)
        container.engine().dispose()


def upgrade_database(database_url: str) -> None:
    """``alembic upgrade head`` on ``database_url``."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        upgrade_database(settings.sqlalchemy_url)
    except OperationalError as error:
        # A server that is down is not a bug: one line, no traceback.
        raise SystemExit(f"cannot migrate the database (DATABASE_URL): {error.orig}") from None
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
