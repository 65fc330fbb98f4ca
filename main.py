"""The application factory, and ``python main.py``: migrate, then serve."""

import gc
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
from starlette.middleware.gzip import GZipMiddleware

from config import Settings, load_settings
from containers import Container
from database.engine import LoopRunner
from mail.infra.metrics import track_outbox_pending
from middlewares.activity_log import ActivityLogMiddleware
from middlewares.body_limit import BodySizeLimitMiddleware
from middlewares.cors import AllowedOriginsCORSMiddleware
from middlewares.error_handlers import register_error_handlers
from middlewares.http_protocol import HeaderCountLimitMiddleware, LoggedHttpToolsProtocol
from middlewares.request_context import RequestContextMiddleware
from middlewares.trusted_host import JsonTrustedHostMiddleware
from note.interface.router import IMPORT_ROUTE
from note.interface.router import router as note_router
from observability.log import configure_logging
from observability.metrics import empty_shared_directory, process_exits
from user.application.user_service import AdminBootstrap
from user.interface.pages import router as user_pages_router
from user.interface.router import router as user_router
from web.openapi import install_openapi, operation_id
from web.operations import router as operations_router
from web.schemas import error_responses

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent
GZIP_MINIMUM_BYTES = 1024
DESCRIPTION = """
Keep "Today I Learned" notes: sign up (`POST /users`), log in with the OAuth2
password flow (`POST /users/login`, a form whose `username` is your email), then
send the token as `Authorization: Bearer <access_token>` and write notes with a
learning date and tags. A personal access token (`til_pat_…`) goes in the same header.
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
        generate_unique_id_function=operation_id,
    )
    app.state.container = container
    app.include_router(user_router)
    app.include_router(user_pages_router)
    app.include_router(note_router)
    app.include_router(operations_router)
    install_openapi(app)
    register_error_handlers(app)
    _add_middlewares(app, settings)
    return app


def _add_middlewares(app: FastAPI, settings: Settings) -> None:
    """The middleware stack, outermost first (Starlette runs the last one added first).

    1. request context: every request, refused or not, has its id (``X-Request-ID``), and an
       unhandled error still becomes a JSON 500;
    2. activity log: exactly one line per request, with that id, the status sent and the time
       until the last byte (compression included), so a refused host and a CORS preflight are
       logged like any request;
    3. trusted hosts (``TRUSTED_HOSTS``): a wrong ``Host`` is refused before anything else answers;
    4. CORS (``CORS_ORIGINS``): preflights are answered here, other responses get their headers;
    5. gzip: compresses what the app and the body limit answer, streams included; it never touches
       ``ETag``, status or ``X-Request-ID``;
    6. header count limit: more than 100 request headers is a 431 (``middlewares/http_protocol.py``);
    7. body size limit: next to the routes, on the request body only.

    Outside all of them, uvicorn's proxy-headers middleware (``FORWARDED_ALLOW_IPS``, see ``main``)
    has already set the client address the log shows.
    """
    app.add_middleware(BodySizeLimitMiddleware, route_limits={IMPORT_ROUTE: settings.import_max_bytes})
    app.add_middleware(HeaderCountLimitMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    if settings.cors_origins:
        app.add_middleware(AllowedOriginsCORSMiddleware, origins=settings.cors_origins)
    if settings.trusted_hosts:
        app.add_middleware(JsonTrustedHostMiddleware, hosts=settings.trusted_hosts)
    app.add_middleware(ActivityLogMiddleware)
    app.add_middleware(RequestContextMiddleware)


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
    # Likewise the weekly digest's scheduler: here without a broker, Celery beat with one.
    periodic = [thread for thread in (container.web_email_relay(), container.web_digest_scheduler()) if thread]
    for thread in periodic:
        thread.start()
    # The routes marked @on_event_loop run on this loop where the database has an engine for it
    # (MariaDB/MySQL); its connections belong to this loop, so they are closed with it.
    loop_engine = container.loop_engine()
    if loop_engine is not None:
        app.state.run_on_loop = LoopRunner(loop_engine)
    _freeze_startup_heap()
    try:
        yield
    finally:
        app.state.run_on_loop = None
        for thread in periodic:
            await run_in_threadpool(thread.stop)
        await run_in_threadpool(container.email_handoff().close)
        if loop_engine is not None:
            await loop_engine.dispose()
        container.engine().dispose()
        process_exits()


def _freeze_startup_heap() -> None:
    """Once a process, what its start built (the modules, the app and its routes, the schemas, the
    statement caches: most of the heap) is moved where the garbage collector no longer walks it.

    Otherwise each full collection walks all of it with the event loop stopped: 80-100 ms, every few
    seconds under load, which was the 99th percentile of every scenario (docs/benchmarks.md, "The
    tail"); now 4-7 ms. Garbage is collected first, so none of it is kept for good.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


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
    empty_shared_directory()  # one process: the counts of an earlier run in PROMETHEUS_MULTIPROC_DIR are not its own
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # httptools, with a bound on the head and a log line for what it refuses (middlewares/http_protocol.py).
        http=LoggedHttpToolsProtocol,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: here only
        # FORWARDED_ALLOW_IPS is believed, and nobody when it is unset (an empty list).
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
    )


if __name__ == "__main__":
    main()
