"""Schemathesis hooks for tests/system/test_schemathesis.py (loaded through ``SCHEMATHESIS_HOOKS``).

``GET /notes`` refuses ``from`` after ``to`` (SPEC §9), a rule between two parameters that no JSON Schema
states; each date alone is valid, so Schemathesis generates such pairs as valid data and would report the 422
as a rejected positive case. Before each call, a pair of valid dates in the wrong order is put in order:
every other case, valid or not, goes out as generated, and the 422 itself is tested in
tests/e2e/test_notes_search.py.

A note's ``tags`` hold at most 32 distinct names, a repeated name counting once (SPEC §4): a count of distinct
values after trimming, which no JSON Schema keyword states either (``maxItems`` would refuse 33 entries with
a repeat, which the API accepts). So a body of ``POST /notes``, ``PUT /notes/{note_id}`` or ``POST
/notes/import`` whose tags are 33 or more distinct valid names keeps the first 32 of them. A list with an
invalid name goes out untouched; the 422 for 33 names is tested in tests/e2e/test_notes_validation.py.
"""

from typing import Any

import schemathesis

from note.domain.errors import InvalidNoteInput
from note.domain.note import parse_memo_date
from note.domain.tag import MAX_TAGS_PER_NOTE, check_tag_name


def _real_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_memo_date(value)
    except InvalidNoteInput:
        return False
    return True


def _tag_name(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return check_tag_name(value)
    except InvalidNoteInput:
        return None


def _keep_tags_within_the_limit(note: Any) -> None:
    tags = note.get("tags") if isinstance(note, dict) else None
    if not isinstance(tags, list):
        return
    names = [_tag_name(value) for value in tags]
    distinct = list(dict.fromkeys(names))
    if None not in distinct and len(distinct) > MAX_TAGS_PER_NOTE:
        del tags[names.index(distinct[MAX_TAGS_PER_NOTE]) :]


def _put_dates_in_order(query: Any) -> None:
    if not isinstance(query, dict):
        return
    start, end = query.get("from"), query.get("to")
    if _real_date(start) and _real_date(end) and start > end:
        query["from"], query["to"] = end, start


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    match (case.method.upper(), case.operation.path):
        case ("GET", "/notes"):
            _put_dates_in_order(case.query)
        case ("POST", "/notes") | ("PUT", "/notes/{note_id}"):
            _keep_tags_within_the_limit(case.body)
        case ("POST", "/notes/import") if isinstance(case.body, dict) and isinstance(case.body.get("notes"), list):
            for note in case.body["notes"]:
                _keep_tags_within_the_limit(note)
