"""``ThreadedRoute`` and ``in_route_thread`` (web/routing.py): a deferred dependency's value is computed once,
in the route's own worker thread, and its error answers before the parameters' 422; under another route
class the value is computed before the route runs, as FastAPI would."""

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient

from web.routing import InRouteThread, ThreadedRoute, in_route_thread, then

computed_in: list[str] = []


def look_up(key: str) -> str:
    computed_in.append(threading.current_thread().name)
    if key == "ended":
        raise HTTPException(status_code=401, detail="ended")
    return f"caller of {key}"


async def caller(key: str = "live") -> str | InRouteThread[str]:
    return await in_route_thread(lambda: look_up(key))


async def shouted(name: Annotated[str | InRouteThread[str], Depends(caller)]) -> str | InRouteThread[str]:
    return then(name, str.upper)


Caller = Annotated[str, Depends(caller)]
Shouted = Annotated[str, Depends(shouted)]
router = APIRouter(route_class=ThreadedRoute)


@router.get("/sync")
def sync_route(who: Caller, loud: Shouted, page: int = 1) -> dict:
    return {"who": who, "loud": loud, "thread": threading.current_thread().name, "page": page}


@router.get("/async")
async def async_route(who: Caller) -> dict:
    return {"who": who}


plain = APIRouter()  # FastAPI's own route class, as app.add_api_route gives


@plain.get("/plain")
def plain_route(who: Caller, loud: Shouted) -> dict:
    return {"who": who, "loud": loud}


app = FastAPI()
app.include_router(router)
app.include_router(plain)
client = TestClient(app)


def test_a_sync_route_gets_the_computed_values_from_its_own_thread_computed_once() -> None:
    computed_in.clear()

    body = client.get("/sync", params={"key": "a"}).json()

    assert (body["who"], body["loud"]) == ("caller of a", "CALLER OF A")
    assert computed_in == [body["thread"]]  # one lookup, in the route's thread, for both parameters
    assert body["thread"] != threading.current_thread().name


def test_an_async_route_gets_the_computed_value() -> None:
    assert client.get("/async", params={"key": "b"}).json() == {"who": "caller of b"}


def test_the_deferred_error_answers_before_the_parameters_422() -> None:
    refused = client.get("/sync", params={"key": "ended", "page": "not a number"})
    invalid = client.get("/sync", params={"key": "live", "page": "not a number"})

    assert (refused.status_code, refused.json()) == (401, {"detail": "ended"})
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["query", "page"]


def test_a_route_of_another_class_gets_the_values_computed_never_the_deferred_check() -> None:
    computed_in.clear()

    assert client.get("/plain", params={"key": "c"}).json() == {"who": "caller of c", "loud": "CALLER OF C"}
    assert len(computed_in) == 1
    assert client.get("/plain", params={"key": "ended"}).status_code == 401
