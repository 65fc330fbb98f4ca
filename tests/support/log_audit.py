"""Everything logged during the test session, and the secrets that must never be in it.

Two sources feed it:

- in-process logging: ``install()`` (called from ``tests/conftest.py``) wraps
  the log-record factory, which survives every ``dictConfig`` that
  ``create_app`` runs (a handler on the root logger would not: ``dictConfig``
  removes the root's handlers). Each record is formatted with the service's
  own ``JsonFormatter`` once its test has finished (``flush()``).
- the stdout and stderr of the servers that ``tests/support/live_server.py`` starts.

``tests/support/app.py``'s signup and login helpers ``remember_secret`` the
passwords and tokens they use; ``scan()`` (run by the session's last test,
``tests/system/test_log_secrets.py``) looks for every one of them, and for
password-hash prefixes, in every line.
"""

import logging
import threading
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import ahocorasick
import orjson

from observability.log import JsonFormatter

HASH_MARKERS = ("$argon2", "$2b$", "$2a$", "$pbkdf2")
IN_PROCESS = "in-process"


@dataclass(frozen=True, slots=True)
class Finding:
    source: str
    what: str
    line: str


_lock = threading.Lock()
_secrets: dict[str, str] = {}
_lines: list[tuple[str, str]] = []
_pending: list[logging.LogRecord] = []
_formatter = JsonFormatter()
_original_factory = logging.getLogRecordFactory()


def remember_secret(value: str, *, what: str) -> None:
    """``value`` must never appear in a log line (a password, a token, a key).

    Also looked for as it would appear escaped in a JSON string and in a
    form-encoded body (``correct+horse+battery``).
    """
    if not value:
        return
    with _lock:
        for form in (value, orjson.dumps(value).decode()[1:-1], quote_plus(value), quote(value)):
            _secrets.setdefault(form, what)


def remember_token(token: str) -> None:
    remember_secret(token, what="an access token")
    remember_secret(token.rsplit(".", 1)[-1], what="an access token's signature")


def add_line(line: str, *, source: str) -> None:
    with _lock:
        _lines.append((source, line))


# The tests' own HTTP client logs every URL it requests (a share link's token, a
# ``/reset-password?token=…`` page among them): its lines are the tests', not the service's.
TEST_CLIENT_LOGGERS = ("httpx", "httpcore")


def _capturing_factory(*args: object, **kwargs: object) -> logging.LogRecord:
    record = _original_factory(*args, **kwargs)
    if record.name.split(".", 1)[0] not in TEST_CLIENT_LOGGERS:
        with _lock:
            _pending.append(record)
    return record


def install() -> None:
    logging.setLogRecordFactory(_capturing_factory)


def uninstall() -> None:
    logging.setLogRecordFactory(_original_factory)


def flush() -> None:
    """Format the records created so far (their ``extra`` fields are set by now) and let them go."""
    with _lock:
        records = _pending[:]
        _pending.clear()
    for record in records:
        try:
            line = _formatter.format(record)
        except Exception:  # a broken log call: still look at what it carried
            line = f"{record.msg!r} {record.args!r} {record.__dict__!r}"
        add_line(line, source=IN_PROCESS)


def lines(source: str | None = None) -> list[str]:
    with _lock:
        return [line for line_source, line in _lines if source is None or line_source == source]


def sources() -> set[str]:
    with _lock:
        return {source for source, _ in _lines}


def secret_count() -> int:
    with _lock:
        return len(_secrets)


def scan() -> list[Finding]:
    """Every captured line that holds a remembered secret or a password-hash prefix."""
    flush()
    with _lock:
        needles = {**_secrets, **{marker: f"a password hash ({marker})" for marker in HASH_MARKERS}}
        captured = _lines[:]
    return find(needles, captured)


def find(needles: dict[str, str], captured: list[tuple[str, str]]) -> list[Finding]:
    """The ``(source, line)`` pairs holding one of ``needles`` (text -> what it is), each named by its longest.

    Aho-Corasick: every needle in one pass over a line. A regex alternation of a session's thousands of
    secrets took minutes over its hundreds of thousands of lines; this takes about a second.
    """
    automaton = ahocorasick.Automaton()
    for needle in needles:
        automaton.add_word(needle, needle)
    automaton.make_automaton()
    findings = []
    for source, line in captured:
        found = [needle for _, needle in automaton.iter(line)]
        if found:
            # The longest, so that a token is reported as a token rather than as its signature.
            findings.append(Finding(source=source, what=needles[max(found, key=len)], line=line))
    return findings
