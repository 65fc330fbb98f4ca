"""Operational routes: ``GET /health`` and ``GET /metrics``."""

from typing import Annotated, Literal, Protocol

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Request, Response, status
from prometheus_client.exposition import choose_encoder
from pydantic import BaseModel

import mail.infra.metrics  # noqa: F401 - registers the email metrics, so /metrics shows them from the start
from observability.metrics import registry_to_scrape
from web.injection import Provided
from web.routing import ThreadedRoute

router = APIRouter(tags=["operations"], route_class=ThreadedRoute)

PartStatus = Literal["ok", "unavailable"]


class DatabaseProbe(Protocol):
    async def is_up(self) -> bool: ...


class BrokerProbe(Protocol):
    async def is_up(self) -> bool: ...


class HealthResponse(BaseModel):
    status: PartStatus
    database: PartStatus
    broker: Literal["ok", "unavailable", "disabled"]


@router.get(
    "/health",
    responses={503: {"model": HealthResponse, "description": "The database or the configured broker is unreachable"}},
    summary="Liveness of the service and what it depends on",
)
@inject
async def health(
    response: Response,
    database: Annotated[DatabaseProbe, Depends(Provided["database_probe"])],
    broker: Annotated[BrokerProbe | None, Depends(Provided["broker_probe"])],
) -> HealthResponse:
    # Awaited on the event loop (common/async_probe.py): a hanging dependency holds no request thread.
    database_status: PartStatus = "ok" if await database.is_up() else "unavailable"
    broker_status: Literal["ok", "unavailable", "disabled"] = (
        "disabled" if broker is None else "ok" if await broker.is_up() else "unavailable"
    )
    healthy = database_status == "ok" and broker_status != "unavailable"
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthResponse(status="ok" if healthy else "unavailable", database=database_status, broker=broker_status)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"}
    },
    summary="Prometheus metrics of the service (every worker process's counts, summed)",
)
def metrics(request: Request) -> Response:
    """The text format (0.0.4) by default; OpenMetrics when the scraper's ``Accept`` asks for it.

    ``Accept`` is read from the request, not declared as a parameter: a parameter would make FastAPI
    declare a 422 that no ``Accept`` can cause."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry_to_scrape()), media_type=content_type)
