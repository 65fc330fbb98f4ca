"""Operational routes: ``GET /health`` and ``GET /metrics``."""

from typing import Annotated, Literal, Protocol

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

router = APIRouter(tags=["operations"])

PartStatus = Literal["ok", "unavailable"]


class DatabaseProbe(Protocol):
    def is_up(self) -> bool: ...


class BrokerProbe(Protocol):
    def is_up(self) -> bool: ...


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
def health(
    response: Response,
    database: Annotated[DatabaseProbe, Depends(Provide["database_probe"])],
    broker: Annotated[BrokerProbe | None, Depends(Provide["broker_probe"])],
) -> HealthResponse:
    database_status: PartStatus = "ok" if database.is_up() else "unavailable"
    broker_status: Literal["ok", "unavailable", "disabled"] = (
        "disabled" if broker is None else "ok" if broker.is_up() else "unavailable"
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
    summary="Prometheus metrics of this process",
)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
