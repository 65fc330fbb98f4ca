"""Renaming, merging and deleting tags over HTTP (SPEC §12), on SQLite and MariaDB: versions and
``updated_at`` move only on notes that changed, GET /tags counts right after every operation, users stay
apart, and a rename running against concurrent note updates neither deadlocks nor loses a tag."""

import itertools
import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.support.app import new_user
from tests.support.notes import all_notes, create_note, tag_counts


def rename(client: TestClient, headers: dict[str, str], tag: str, name: str) -> Response:
    return client.patch(f"/tags/{quote(tag, safe='')}", json={"name": name}, headers=headers)


def note_state(client: TestClient, headers: dict[str, str], note_id: str) -> tuple[list[str], str, str]:
    response = client.get(f"/notes/{note_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["tags"], response.headers["ETag"], response.json()["updated_at"]


def test_a_rename_renames_the_tag_on_every_note_in_place(client: TestClient) -> None:
    _, headers = new_user(client)
    first = create_note(client, headers, tags=["x", "old", "y"])
    second = create_note(client, headers, tags=["old"])
    untouched = create_note(client, headers, tags=["x"])
    before = note_state(client, headers, untouched["id"])

    response = rename(client, headers, "old", "새 이름 🎉")

    assert response.status_code == 200, response.text
    assert response.json() == {"name": "새 이름 🎉", "note_count": 2}
    assert tag_counts(client, headers) == [("x", 2), ("y", 1), ("새 이름 🎉", 2)]
    for note, tags in [(first, ["x", "새 이름 🎉", "y"]), (second, ["새 이름 🎉"])]:
        now_tags, etag, updated_at = note_state(client, headers, note["id"])
        assert (now_tags, etag) == (tags, '"2"')
        assert updated_at > note["updated_at"]
    assert note_state(client, headers, untouched["id"]) == before
    assert client.get("/notes/tags/old/notes", headers=headers).json()["total_count"] == 0


def test_renaming_onto_an_existing_tag_merges_keeping_the_first_place(client: TestClient) -> None:
    _, headers = new_user(client)
    new_first = create_note(client, headers, tags=["new", "a", "old"])
    old_first = create_note(client, headers, tags=["old", "b", "new"])
    only_new = create_note(client, headers, tags=["new"])
    before = note_state(client, headers, only_new["id"])

    response = rename(client, headers, "old", "new")

    assert response.json() == {"name": "new", "note_count": 3}
    assert note_state(client, headers, new_first["id"])[:2] == (["new", "a"], '"2"')
    assert note_state(client, headers, old_first["id"])[:2] == (["new", "b"], '"2"')
    assert note_state(client, headers, only_new["id"]) == before
    assert tag_counts(client, headers) == [("a", 1), ("b", 1), ("new", 3)]


def test_a_rename_trims_the_names_and_to_the_same_name_changes_nothing(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["same"])

    response = rename(client, headers, " same ", "  same ")

    assert response.json() == {"name": "same", "note_count": 1}
    assert note_state(client, headers, note["id"])[1] == '"1"'
    assert tag_counts(client, headers) == [("same", 1)]


def test_case_and_accents_make_other_tags_for_a_rename_too(client: TestClient) -> None:
    _, headers = new_user(client)
    create_note(client, headers, tags=["study"])
    create_note(client, headers, tags=["Study"])

    assert rename(client, headers, "study", "stüdy").json() == {"name": "stüdy", "note_count": 1}
    assert tag_counts(client, headers) == [("Study", 1), ("stüdy", 1)]


@pytest.mark.parametrize("name", ["", "   ", "a/b", "x" * 33, "tab\there"])
def test_an_invalid_new_name_is_422_and_changes_nothing(client: TestClient, name: str) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["kept"])

    response = rename(client, headers, "kept", name)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert note_state(client, headers, note["id"])[:2] == (["kept"], '"1"')
    assert tag_counts(client, headers) == [("kept", 1)]


def test_unknown_or_another_users_tags_are_404_for_rename_and_delete(client: TestClient) -> None:
    _, alice = new_user(client)
    _, bob = new_user(client)
    create_note(client, bob, tags=["bobs"])

    for response in [
        rename(client, alice, "bobs", "mine"),
        rename(client, alice, "never", "mine"),
        client.delete("/tags/bobs", headers=alice),
        client.delete("/tags/never", headers=alice),
    ]:
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "Tag not found"}
    assert tag_counts(client, alice) == []
    assert tag_counts(client, bob) == [("bobs", 1)]


def test_tag_changes_stay_within_the_user(client: TestClient) -> None:
    _, alice = new_user(client)
    _, bob = new_user(client)
    create_note(client, alice, tags=["shared"])
    bobs = create_note(client, bob, tags=["shared"])

    rename(client, alice, "shared", "renamed")
    client.delete("/tags/renamed", headers=alice)

    assert tag_counts(client, alice) == []
    assert tag_counts(client, bob) == [("shared", 1)]
    assert note_state(client, bob, bobs["id"])[:2] == (["shared"], '"1"')


def test_deleting_a_tag_takes_it_off_its_notes_which_stay(client: TestClient) -> None:
    _, headers = new_user(client)
    tagged = create_note(client, headers, tags=["a", "gone", "b"])
    only = create_note(client, headers, tags=["gone"])
    other = create_note(client, headers, tags=["a"])
    before = note_state(client, headers, other["id"])

    response = client.delete("/tags/gone", headers=headers)

    assert (response.status_code, response.content) == (204, b"")
    assert note_state(client, headers, tagged["id"])[:2] == (["a", "b"], '"2"')
    assert note_state(client, headers, only["id"])[:2] == ([], '"2"')
    assert note_state(client, headers, other["id"]) == before
    assert tag_counts(client, headers) == [("a", 2), ("b", 1)]
    assert client.delete("/tags/gone", headers=headers).status_code == 404


def test_get_tags_counts_right_after_every_tag_operation(client: TestClient) -> None:
    _, headers = new_user(client)
    for tags in (["a", "b"], ["b", "c"], ["c"], ["d"]):
        create_note(client, headers, tags=tags)
    steps = [
        (lambda: rename(client, headers, "a", "b"), [("b", 2), ("c", 2), ("d", 1)]),
        (lambda: rename(client, headers, "c", "e"), [("b", 2), ("d", 1), ("e", 2)]),
        (lambda: client.delete("/tags/d", headers=headers), [("b", 2), ("e", 2)]),
        (lambda: rename(client, headers, "b", "e"), [("e", 3)]),
        (lambda: client.delete("/tags/e", headers=headers), []),
    ]
    for operation, counts in steps:
        assert operation().status_code in (200, 204)
        assert tag_counts(client, headers) == counts
        listed = Counter(name for note in all_notes(client, headers) for name in note["tags"])
        assert sorted(listed.items()) == counts


def test_a_rename_alongside_concurrent_note_updates_neither_deadlocks_nor_loses_tags(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    _, headers = new_user(client)
    # Every note carries the tag being renamed, and tags on both sides of it in name order; the rename
    # goes back and forth while each note's own writer changes its tags.
    notes = [create_note(client, headers, tags=["aaa", "moving", f"own-{n}", "zzz"]) for n in range(8)]
    start = threading.Barrier(len(notes) + 1)

    def renamer() -> list[int]:
        start.wait()
        names = ["moving", "moved", "moving", "moved", "moving"]
        return [rename(client, headers, old, new).status_code for old, new in itertools.pairwise(names)]

    def writer(n: int) -> list[int]:
        """Four tag changes, each based on the note as it is (If-Match; a 412 reads it again)."""
        start.wait()
        url, statuses = f"/notes/{notes[n]['id']}", []
        while statuses.count(200) < 4:
            round_ = statuses.count(200)
            current = client.get(url, headers=headers)
            tags = current.json()["tags"]
            changed = [*tags, f"extra-{round_}"] if round_ % 2 == 0 else [t for t in tags if t != "aaa"]
            put = client.put(url, json={"tags": changed}, headers={**headers, "If-Match": current.headers["ETag"]})
            statuses.append(put.status_code)
        return statuses

    with (
        caplog.at_level(logging.WARNING, logger="note.application.note_service"),
        ThreadPoolExecutor(max_workers=len(notes) + 1) as pool,
    ):
        renames = pool.submit(renamer)
        writes = [pool.submit(writer, n) for n in range(len(notes))]
        statuses = renames.result() + [status for write in writes for status in write.result()]

    assert set(statuses) <= {200, 412}, statuses
    assert renames.result() == [200] * 4
    assert not [record for record in caplog.records if "aborted by a concurrent" in record.getMessage()]
    final = all_notes(client, headers)
    assert all("moving" in note["tags"] and "moved" not in note["tags"] for note in final)
    assert tag_counts(client, headers) == sorted(Counter(t for note in final for t in note["tags"]).items())
