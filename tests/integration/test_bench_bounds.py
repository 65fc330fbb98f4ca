"""The benchmark's database bounds do the same work: bound (b), sync, and bound (c), async on each
async driver, answer one user's ten newest notes with the same body (bench/bounds.py)."""

import pytest
from fastapi.testclient import TestClient

from bench import bounds
from main import create_app
from tests.support.app import make_settings, new_user
from tests.support.notes import create_note


@pytest.mark.parametrize("driver", ["mysql+asyncmy", "mysql+aiomysql"])
def test_the_sync_and_the_async_bound_answer_the_same_page(
    mariadb_url: str, monkeypatch: pytest.MonkeyPatch, driver: str
) -> None:
    with TestClient(create_app(make_settings(mariadb_url))) as client:
        user, headers = new_user(client)
        for number in range(12):
            create_note(client, headers, title=f"bound {number}")
    monkeypatch.setenv("BENCH_DATABASE_URL", mariadb_url)
    monkeypatch.setenv("BENCH_ASYNC_DRIVER", driver)
    monkeypatch.setattr(bounds, "_engine", None)
    monkeypatch.setattr(bounds, "_async_engine", None)

    with TestClient(bounds.db_app) as sync_bound, TestClient(bounds.async_db_app) as async_bound:
        sync_page = sync_bound.get("/bound/db", params={"user_id": user["id"]})
        async_page = async_bound.get("/bound/db", params={"user_id": user["id"]})

    assert sync_page.status_code == async_page.status_code == 200
    titles = [note["title"] for note in sync_page.json()["notes"]]
    assert titles == [f"bound {number}" for number in range(11, 1, -1)]  # the ten newest, newest first
    assert async_page.json() == sync_page.json()
