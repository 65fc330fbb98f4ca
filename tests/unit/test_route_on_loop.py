"""``@on_event_loop`` (web/routing.py): a marked sync route, its deferred values included, runs in a greenlet
on the event loop when the app gives a runner (``app.state.run_on_loop``, set by the lifespan on MariaDB),
and in a worker thread when it gives none (SQLite); an unmarked route always runs in a worker thread."""

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.util.concurrency import in_greenlet

from web.routing import InRouteThread, ThreadedRoute, in_route_thread, on_event_loop


def where() -> dict[str, object]:
    return {"thread": threading.get_ident(), "greenlet": in_greenlet()}


async def deferred_where() -> dict[str, object] | InRouteThread[dict[str, object]]:
    return await in_route_thread(where)


Where = Annotated[dict[str, object], Depends(deferred_where)]
router = APIRouter(route_class=ThreadedRoute)


@router.get("/marked")
@on_event_loop
def marked(deferred: Where) -> dict[str, object]:
    return {"route": where(), "deferred": deferred}


@router.get("/unmarked")
def unmarked(deferred: Where) -> dict[str, object]:
    return {"route": where(), "deferred": deferred}


def app_with(runner: object) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.run_on_loop = runner
        yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    return app


def answers(app: FastAPI) -> tuple[int, dict[str, dict[str, object]], dict[str, dict[str, object]]]:
    with TestClient(app) as client:
        loop_thread = client.portal.call(threading.get_ident)
        return loop_thread, client.get("/marked").json(), client.get("/unmarked").json()


def test_a_marked_route_runs_on_the_loop_with_its_deferred_values_when_the_app_gives_a_runner() -> None:
    loop_thread, marked_answer, unmarked_answer = answers(app_with(greenlet_spawn))

    on_the_loop = {"thread": loop_thread, "greenlet": True}
    assert marked_answer == {"route": on_the_loop, "deferred": on_the_loop}
    assert unmarked_answer["route"] == unmarked_answer["deferred"]
    assert unmarked_answer["route"]["thread"] != loop_thread
    assert unmarked_answer["route"]["greenlet"] is False


def test_without_a_runner_a_marked_route_runs_in_a_worker_thread_as_any_route() -> None:
    loop_thread, marked_answer, unmarked_answer = answers(app_with(None))

    for answer in (marked_answer, unmarked_answer):
        assert answer["route"] == answer["deferred"]
        assert answer["route"]["thread"] != loop_thread
        assert answer["route"]["greenlet"] is False
