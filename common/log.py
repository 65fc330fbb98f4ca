"""Logging, configured once at start: one JSON object per line on stdout.

Every line carries the running request's ``request_id`` and ``user_id``
(``null`` outside a request). uvicorn's own loggers are routed through the
same handler; its access log is switched off, since the activity-log
middleware writes one richer line per request instead.
"""

import logging
import logging.config
from typing import Any

from common.request_context import current_request_context


class RequestContextFilter(logging.Filter):
    """Stamps each record with the request it was written for."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request_context()
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id
        if not hasattr(record, "user_id"):
            record.user_id = context.user_id
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI copy of the message
        return True


def logging_config(level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": RequestContextFilter}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.orjson.OrjsonFormatter",
                "fmt": "{levelname}{message}{name}",
                "style": "{",
                "rename_fields": {"levelname": "level", "message": "event", "name": "logger"},
                "timestamp": True,
            }
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request_context"],
            }
        },
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            # Celery's worker: same lines, same handler.
            "celery": {"handlers": [], "propagate": True},
            "alembic.runtime.plugins": {"level": "WARNING"},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(level))
