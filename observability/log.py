"""Logging, configured once at start: one JSON object per line on stdout.

Every line carries the running request's ``request_id`` and ``user_id``
(``null`` outside a request). uvicorn's own loggers are routed through the
same handler; its access log is switched off, since the activity-log
middleware writes one richer line per request instead.

The request line (logger ``REQUEST_LOGGER``) has exactly the fields of
SPEC §7 and is written whatever ``LOG_LEVEL`` says: ``LOG_LEVEL`` governs
every other logger. ``log_config.json`` next to this file is the same
configuration for ``uvicorn --log-config`` (see ``LOG_CONFIG_FILE``), so that
uvicorn's supervisor process under ``--workers N`` writes JSON lines too.
"""

import logging
import logging.config
from pathlib import Path
from typing import Any

from pythonjsonlogger.core import LogData
from pythonjsonlogger.orjson import OrjsonFormatter

from common.request_context import current_request_context

REQUEST_LOGGER = "activity"
LOG_CONFIG_FILE = Path(__file__).with_name("log_config.json")


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


class JsonFormatter(OrjsonFormatter):
    """``{"timestamp", "level", "event", "logger", ...extra}``, one object per line.

    ``timestamp`` is ISO 8601 in UTC with its offset and comes first. The
    request line leaves ``logger`` out, so it has exactly the SPEC §7 fields.
    """

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{message}{name}",
            style="{",
            rename_fields={"levelname": "level", "message": "event", "name": "logger"},
            timestamp=True,
        )

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        if record.name == REQUEST_LOGGER:
            log_data.pop("logger", None)

    def process_log_record(self, log_data: LogData) -> LogData:
        return {"timestamp": log_data.pop("timestamp"), **log_data}


def logging_config(level: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` configuration (JSON-serialisable, see ``log_config.json``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "observability.log.RequestContextFilter"}},
        "formatters": {"json": {"()": "observability.log.JsonFormatter"}},
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
            # One line per request, whatever LOG_LEVEL says (SPEC §7).
            REQUEST_LOGGER: {"level": "INFO"},
            # NOTSET: LOG_LEVEL rules uvicorn too (its CLI sets INFO before the factory runs).
            "uvicorn": {"handlers": [], "propagate": True, "level": "NOTSET"},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": "NOTSET"},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            # Celery's worker: same lines, same handler.
            "celery": {"handlers": [], "propagate": True},
            "alembic.runtime.plugins": {"level": "WARNING"},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(level))
