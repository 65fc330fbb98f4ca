"""``Provide`` for FastAPI routes, without a worker thread per dependency."""

from typing import Self

from dependency_injector.wiring import Provide


class Provided(Provide):
    """dependency-injector's ``Provide`` marker, made awaitable.

    FastAPI runs every *sync* dependency in its thread pool, and ``Provide``
    is a sync callable (it returns itself; ``@inject`` then swaps in the
    provided object). So each ``Depends(Provide[...])`` cost one thread hop
    per request. This marker does the same, but as a coroutine, which FastAPI
    awaits on the event loop: ``Depends(Provided["user_service"])``.
    """

    async def __call__(self) -> Self:  # type: ignore[override]
        return self
