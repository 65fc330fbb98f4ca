"""Schemathesis hooks for tests/system/test_schemathesis.py (loaded through ``SCHEMATHESIS_HOOKS``).

``GET /notes`` refuses ``from`` after ``to`` (SPEC §9), a rule between two parameters that no JSON Schema
states; each date alone is valid, so Schemathesis generates such pairs as valid data and would report the 422
as a rejected positive case. Before each call, a pair of valid dates in the wrong order is put in order:
every other case, valid or not, goes out as generated, and the 422 itself is tested in
tests/e2e/test_notes_search.py.
"""

from typing import Any

import schemathesis

from note.domain.errors import InvalidNoteInput
from note.domain.note import parse_memo_date


def _real_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_memo_date(value)
    except InvalidNoteInput:
        return False
    return True


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    query = case.query
    if case.operation.path != "/notes" or case.method.upper() != "GET" or not isinstance(query, dict):
        return
    start, end = query.get("from"), query.get("to")
    if _real_date(start) and _real_date(end) and start > end:
        query["from"], query["to"] = end, start
