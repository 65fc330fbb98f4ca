"""bench/page_statements.py times a tag's page now beside the page as it was before migration 0012: both
must be the same page, the same notes in the same order with the same total, or the comparison says
nothing. On scratch databases, SQLite and MariaDB, bulk-loaded as the benchmark loads them."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bench.bulk_load import COMMON_TAG, bulk_load
from bench.page_statements import statements
from tests.support.app import migrate, sibling_mariadb


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pages.db'}"
    else:
        with sibling_mariadb(request.getfixturevalue("mariadb_url"), "_pages") as url:
            yield url


def test_the_tag_page_before_and_now_are_the_same_page(scratch_url: str) -> None:
    migrate(scratch_url)
    users = bulk_load(scratch_url, users=2, notes_per_user=40, sample=2, sample_notes_per_user=40)
    timed = statements()
    now, _ = timed["GET /notes/tags/common/notes, page 1"]
    before, _ = timed["the same, in the notes' order (before 0012)"]
    engine = create_engine(scratch_url)
    try:
        with engine.connect() as connection:
            for user in users:
                for offset in (0, 10):
                    parameters = {"user_id": user["id"], "tag_name": COMMON_TAG, "limit": 10, "offset": offset}
                    pages = [
                        [(row.id, row.total_count) for row in connection.execute(statement, parameters)]
                        for statement in (now, before)
                    ]
                    assert pages[0] == pages[1]
                    assert len(pages[0]) == min(10, 14 - offset)  # every third of 40 notes: 14
    finally:
        engine.dispose()
