"""The two bound apps every benchmark figure is compared with.

(a) ``jwt_app``: decodes the same JWT the service would and returns a fixed
    JSON body the size of a 10-note page: what FastAPI, uvicorn and the token
    check cost with no database at all.
(b) ``db_app``: a sync endpoint doing one indexed ``SELECT … LIMIT 10`` on the
    notes table through a pooled SQLAlchemy engine: the yardstick nothing the
    service does per request can beat by much.
(c) ``async_db_app``: the same ``SELECT`` from an ``async`` endpoint, through
    SQLAlchemy's asyncio engine on an async driver (``asyncmy``; ``aiomysql``,
    PyMySQL underneath, with BENCH_ASYNC_DRIVER=mysql+aiomysql): no worker
    thread at all. Not a bound of what the service does today; what (b) would
    be if the request path were async end to end (docs/benchmarks.md).

Both read BENCH_DATABASE_URL and JWT_SECRET from the environment, like the
service, and run under the same uvicorn settings (bench/perf.py starts them).
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from anyio import to_thread
from fastapi import FastAPI, Header, HTTPException, Response
from jose import JWTError, jwt
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from database.engine import build_engine

PAGE_OF_TEN_NOTES = orjson.dumps(
    {
        "total_count": 200,
        "page": 1,
        "notes": [
            {
                "id": "01JDQ7Z8Y6X5W4V3T2S1R0QPNM",
                "user_id": "01JDQ7Z8Y6X5W4V3T2S1R0QPNA",
                "title": f"TIL {number}",
                "content": "Benchmarks measure; they do not guess. 오늘 배운 것 " * 2,
                "memo_date": "20261127",
                "tags": ["bench-1", "bench-2", "학습-3"],
                "created_at": "2026-11-27T09:30:00.123456+00:00",
                "updated_at": "2026-11-27T09:30:00.123456+00:00",
            }
            for number in range(10)
        ],
    }
)


@asynccontextmanager
async def same_threads_as_the_service(_app: FastAPI) -> AsyncIterator[None]:
    """The service's thread pool size (THREAD_POOL_SIZE, default 8), for a like-for-like bound."""
    to_thread.current_default_thread_limiter().total_tokens = int(os.environ.get("THREAD_POOL_SIZE", "8"))
    yield


jwt_app = FastAPI(lifespan=same_threads_as_the_service)


@jwt_app.get("/bound/jwt")
async def bound_jwt(authorization: Annotated[str, Header()]) -> Response:
    try:
        jwt.decode(
            authorization.removeprefix("Bearer "),
            os.environ["JWT_SECRET"],
            algorithms=["HS256"],
            options={"require_exp": True, "require_iat": True, "require_sub": True},
        )
    except JWTError:
        raise HTTPException(status_code=401) from None
    return Response(PAGE_OF_TEN_NOTES, media_type="application/json")


db_app = FastAPI(lifespan=same_threads_as_the_service)
_engine = None

LATEST_TEN = text(
    "SELECT id, title, content, memo_date, created_at FROM notes "
    "WHERE user_id = :user_id ORDER BY created_at DESC, id DESC LIMIT 10"
)


def _page(rows: Any) -> Response:
    body = [
        {"id": row.id, "title": row.title, "content": row.content, "memo_date": str(row.memo_date),
         "created_at": str(row.created_at)}
        for row in rows
    ]  # fmt: skip
    return Response(orjson.dumps({"notes": body}), media_type="application/json")


@db_app.get("/bound/db")
def bound_db(user_id: str) -> Response:
    global _engine  # noqa: PLW0603 - one pooled engine for the process, built on first use
    if _engine is None:
        _engine = build_engine(os.environ["BENCH_DATABASE_URL"])
    with _engine.connect() as connection:
        return _page(connection.execute(LATEST_TEN, {"user_id": user_id}).all())


_async_engine: AsyncEngine | None = None


@asynccontextmanager
async def async_engine_disposed(app: FastAPI) -> AsyncIterator[None]:
    """As ``same_threads_as_the_service``; the async engine's connections are closed on the loop that made them."""
    global _async_engine  # noqa: PLW0603
    async with same_threads_as_the_service(app):
        yield
    if _async_engine is not None:
        await _async_engine.dispose()
        _async_engine = None


async_db_app = FastAPI(lifespan=async_engine_disposed)


@async_db_app.get("/bound/db")
async def bound_db_async(user_id: str) -> Response:
    global _async_engine  # noqa: PLW0603 - as above
    if _async_engine is None:
        driver = os.environ.get("BENCH_ASYNC_DRIVER", "mysql+asyncmy")
        url = make_url(os.environ["BENCH_DATABASE_URL"]).set(drivername=driver)
        # The pool of build_engine, and one ROLLBACK a request as there (here explicit, no reset on return).
        _async_engine = create_async_engine(url, pool_size=20, max_overflow=20, pool_reset_on_return=None)
    async with _async_engine.connect() as connection:
        rows = (await connection.execute(LATEST_TEN, {"user_id": user_id})).all()
        await connection.rollback()
    return _page(rows)
