"""The JSON line format of ``observability/log.py``, and the file uvicorn's ``--log-config`` reads."""

import json
import logging

import orjson

from common.request_context import RequestContext, bind_request_context, reset_request_context
from observability.log import LOG_CONFIG_FILE, REQUEST_LOGGER, JsonFormatter, RequestContextFilter, logging_config


def format_line(logger_name: str, message: str, **extra: object) -> dict:
    logger = logging.getLogger(logger_name)
    record = logger.makeRecord(logger_name, logging.INFO, __file__, 1, message, (), None, extra=extra)
    RequestContextFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return orjson.loads(line)


def test_log_config_json_is_logging_config_at_info() -> None:
    assert json.loads(LOG_CONFIG_FILE.read_text()) == logging_config("INFO")


def test_a_line_starts_with_its_timestamp_and_names_its_logger_and_request() -> None:
    token = bind_request_context(RequestContext(request_id="req-1", user_id="user-1"))
    try:
        line = format_line("some.module", "something happened", outbox_id="01ABC")
    finally:
        reset_request_context(token)

    assert list(line)[:4] == ["timestamp", "level", "event", "logger"]
    assert line["timestamp"].endswith("+00:00")
    assert (line["level"], line["event"], line["logger"]) == ("INFO", "something happened", "some.module")
    assert (line["request_id"], line["user_id"], line["outbox_id"]) == ("req-1", "user-1", "01ABC")


def test_outside_a_request_the_ids_are_null() -> None:
    line = format_line("some.module", "at start")

    assert (line["request_id"], line["user_id"]) == (None, None)


def test_the_request_line_has_no_logger_field() -> None:
    line = format_line(REQUEST_LOGGER, "request", request_id="r", user_id=None, method="GET", path="/", status=200)

    assert "logger" not in line
    assert line["event"] == "request"
