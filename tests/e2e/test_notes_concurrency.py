"""Concurrent writers over HTTP, on SQLite and MariaDB: optimistic concurrency
lets exactly one of several PUTs holding the same version win, and shared tags
stay consistent while notes carrying them are written and deleted at once."""

import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, text

from common.ulid_ids import UlidIdGenerator
from tests.support.app import new_user
from tests.support.notes import all_notes, create_note, tag_counts

WRITERS = 20


def test_of_20_concurrent_puts_with_the_same_if_match_exactly_one_wins(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, title="original", tags=["start"])
    url = f"/notes/{note['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    start = threading.Barrier(WRITERS)

    def put(writer: int) -> tuple[int, Response]:
        start.wait()
        change = {"title": f"writer {writer}", "content": f"written by {writer}", "tags": [f"writer-{writer}"]}
        return writer, client.put(url, json=change, headers={**headers, "If-Match": etag})

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(put, range(WRITERS)))

    assert Counter(response.status_code for _, response in results) == {200: 1, 412: WRITERS - 1}
    winner, won = next((writer, response) for writer, response in results if response.status_code == 200)
    final = client.get(url, headers=headers)
    assert final.json() == won.json()
    assert (final.json()["title"], final.json()["content"]) == (f"writer {winner}", f"written by {winner}")
    assert final.headers["ETag"] == won.headers["ETag"] == '"2"'
    assert tag_counts(client, headers) == [(f"writer-{winner}", 1)]


def test_notes_sharing_tags_written_and_deleted_at_once_keep_tags_consistent(client: TestClient) -> None:
    _, headers = new_user(client)
    keeper = create_note(client, headers, tags=["kept"])
    start = threading.Barrier(10)

    def churn(worker: int) -> list[int]:
        names = ["alpha", "beta", "gamma", "kept"]
        order = names[worker % 4 :] + names[: worker % 4]
        start.wait()
        created = client.post(
            "/notes",
            json={"title": f"w{worker}", "content": "c", "memo_date": "20261127", "tags": order},
            headers=headers,
        )
        note_url = f"/notes/{created.json()['id']}"
        dropped = client.put(note_url, json={"tags": order[:2]}, headers=headers)
        deleted = client.delete(note_url, headers=headers) if worker % 2 else None
        return [created.status_code, dropped.status_code, deleted.status_code if deleted else 204]

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = [status for result in pool.map(churn, range(10)) for status in result]

    assert set(statuses) == {200, 201, 204}, statuses
    remaining = all_notes(client, headers)
    expected = Counter(name for note in remaining for name in note["tags"])
    assert tag_counts(client, headers) == sorted(expected.items())
    assert keeper["id"] in {note["id"] for note in remaining}


def test_a_put_that_waited_for_another_writer_replaces_the_tags_that_writer_left(
    client: TestClient, engine: Engine
) -> None:
    # Another transaction holds the note (MariaDB: its row lock; SQLite: the write lock) while it
    # swaps the note's tags ["a", "b"] for ["c"]. A PUT of ["d"] meanwhile waits, then must see "c",
    # not the ["a", "b"] of before its wait: the note ends with ["d"], and "c", now unused, is gone.
    user, headers = new_user(client)
    note = create_note(client, headers, tags=["a", "b"])
    tag_c = UlidIdGenerator().new_id()
    with engine.connect() as other, ThreadPoolExecutor(max_workers=1) as pool:
        other.execute(text("UPDATE notes SET version = version + 1 WHERE id = :id"), {"id": note["id"]})
        other.execute(text("DELETE FROM note_tags WHERE note_id = :id"), {"id": note["id"]})
        other.execute(
            text("INSERT INTO tags (id, user_id, name) VALUES (:id, :user_id, 'c')"),
            {"id": tag_c, "user_id": user["id"]},
        )
        other.execute(
            text(
                "INSERT INTO note_tags (note_id, tag_id, position, note_created_at)"
                " SELECT id, :tag_id, 0, created_at FROM notes WHERE id = :id"
            ),
            {"id": note["id"], "tag_id": tag_c},
        )
        put = pool.submit(client.put, f"/notes/{note['id']}", json={"tags": ["d"]}, headers=headers)
        _wait_until_blocked(engine, put)
        other.commit()
        assert put.result(timeout=30).status_code == 200

    assert client.get(f"/notes/{note['id']}", headers=headers).json()["tags"] == ["d"]
    assert "c" not in dict(tag_counts(client, headers))


def _wait_until_blocked(engine: Engine, request: Future[Response]) -> None:
    """Until ``request`` waits for a row lock (MariaDB); SQLite cannot tell, so a moment."""
    if engine.dialect.name == "sqlite":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 10
    with engine.connect() as watcher:
        waiting = text("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")
        while not watcher.execute(waiting).scalar():
            assert not request.done(), request.result().text
            assert time.monotonic() < deadline, "the request never waited for the lock"
            time.sleep(0.01)
            watcher.rollback()
