"""Tags over HTTP: per-user, trimmed, exact, collapsed, listed with counts, and
gone once no note uses them; listing notes by tag."""

from urllib.parse import quote

from fastapi.testclient import TestClient

from tests.support.app import new_user
from tests.support.notes import all_notes, create_note, tag_counts


def by_tag(client: TestClient, headers: dict[str, str], *, tag: str, **params: int) -> dict:
    response = client.get(f"/notes/tags/{quote(tag, safe='')}/notes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_user_has_no_tags(client: TestClient) -> None:
    _, headers = new_user(client)

    response = client.get("/tags", headers=headers)

    assert response.status_code == 200
    assert response.json() == {"tags": []}


def test_study_study_and_stuedy_are_three_tags(client: TestClient) -> None:
    _, headers = new_user(client)
    upper = create_note(client, headers, tags=["Study"])
    lower = create_note(client, headers, tags=["study"])
    umlaut = create_note(client, headers, tags=["stüdy"])
    both = create_note(client, headers, tags=["study", "Study"])

    assert tag_counts(client, headers) == [("Study", 2), ("study", 2), ("stüdy", 1)]
    assert [n["id"] for n in by_tag(client, headers, tag="Study")["notes"]] == [both["id"], upper["id"]]
    assert [n["id"] for n in by_tag(client, headers, tag="study")["notes"]] == [both["id"], lower["id"]]
    assert [n["id"] for n in by_tag(client, headers, tag="stüdy")["notes"]] == [umlaut["id"]]
    assert by_tag(client, headers, tag="STUDY") == {"total_count": 0, "page": 1, "notes": []}


def test_tag_names_are_stored_trimmed(client: TestClient) -> None:
    _, headers = new_user(client)

    note = create_note(client, headers, tags=["  study  ", "\u3000공부\u3000", "two words "])

    assert note["tags"] == ["study", "공부", "two words"]
    assert tag_counts(client, headers) == [("study", 1), ("two words", 1), ("공부", 1)]
    assert by_tag(client, headers, tag="study")["total_count"] == 1
    assert by_tag(client, headers, tag=" study ")["total_count"] == 1


def test_repeated_names_collapse_keeping_the_first_place(client: TestClient) -> None:
    _, headers = new_user(client)

    note = create_note(client, headers, tags=["b", "a", "b", " a", "c", "a "])

    assert note["tags"] == ["b", "a", "c"]
    assert client.get(f"/notes/{note['id']}", headers=headers).json()["tags"] == ["b", "a", "c"]
    assert tag_counts(client, headers) == [("a", 1), ("b", 1), ("c", 1)]


def test_tags_are_listed_by_name_in_code_point_order_with_counts(client: TestClient) -> None:
    _, headers = new_user(client)
    create_note(client, headers, tags=["b", "B", "é", "한국어", "_x"])
    create_note(client, headers, tags=["a", "b", "😀", "e", "Z", "10", "2"])

    response = client.get("/tags", headers=headers)

    assert response.json() == {
        "tags": [
            {"name": name, "note_count": 2 if name == "b" else 1}
            for name in ["10", "2", "B", "Z", "_x", "a", "b", "e", "é", "한국어", "😀"]
        ]
    }


def test_users_never_see_each_others_tags_or_notes_through_a_shared_name(client: TestClient) -> None:
    _, alice = new_user(client)
    _, bob = new_user(client)
    alice_notes = [create_note(client, alice, tags=["study"]) for _ in range(2)]
    bob_note = create_note(client, bob, tags=["study", "bob-only"])

    alice_study = by_tag(client, alice, tag="study")
    bob_study = by_tag(client, bob, tag="study")

    assert alice_study["total_count"] == 2
    assert {n["id"] for n in alice_study["notes"]} == {n["id"] for n in alice_notes}
    assert [n["id"] for n in bob_study["notes"]] == [bob_note["id"]]
    assert bob_study["total_count"] == 1
    assert by_tag(client, alice, tag="bob-only")["total_count"] == 0
    assert tag_counts(client, alice) == [("study", 2)]
    assert tag_counts(client, bob) == [("bob-only", 1), ("study", 1)]


def test_listing_by_tag_is_newest_first_and_paged(client: TestClient) -> None:
    _, headers = new_user(client)
    tagged = [create_note(client, headers, tags=["paged", f"n{number}"]) for number in range(5)]
    create_note(client, headers, tags=["other"])

    pages = [by_tag(client, headers, tag="paged", page=page, items_per_page=2) for page in (1, 2, 3, 4)]

    assert [page["total_count"] for page in pages] == [5, 5, 5, 5]
    assert [page["page"] for page in pages] == [1, 2, 3, 4]
    assert [n["id"] for page in pages for n in page["notes"]] == [n["id"] for n in reversed(tagged)]
    assert pages[3]["notes"] == []
    assert pages[0]["notes"][0] == tagged[-1]


def test_an_unknown_tag_gives_total_count_0(client: TestClient) -> None:
    _, headers = new_user(client)
    create_note(client, headers, tags=["known"])

    assert by_tag(client, headers, tag="unknown") == {"total_count": 0, "page": 1, "notes": []}
    assert by_tag(client, headers, tag="x" * 40) == {"total_count": 0, "page": 1, "notes": []}


def test_korean_and_emoji_tag_names_work_in_the_path(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["공부", "🎉 party"])

    assert [n["id"] for n in by_tag(client, headers, tag="공부")["notes"]] == [note["id"]]
    assert [n["id"] for n in by_tag(client, headers, tag="🎉 party")["notes"]] == [note["id"]]


def test_a_tag_an_update_leaves_unused_is_gone(client: TestClient) -> None:
    _, headers = new_user(client)
    first = create_note(client, headers, tags=["shared", "first-only"])
    create_note(client, headers, tags=["shared"])

    response = client.put(f"/notes/{first['id']}", json={"tags": ["fresh"]}, headers=headers)

    assert response.status_code == 200
    assert tag_counts(client, headers) == [("fresh", 1), ("shared", 1)]
    assert by_tag(client, headers, tag="first-only")["total_count"] == 0


def test_clearing_a_notes_tags_removes_the_ones_it_alone_used(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["alone", "shared"])
    create_note(client, headers, tags=["shared"])

    client.put(f"/notes/{note['id']}", json={"tags": []}, headers=headers)

    assert tag_counts(client, headers) == [("shared", 1)]


def test_deleting_a_note_removes_the_tags_it_alone_used(client: TestClient) -> None:
    _, headers = new_user(client)
    _, other = new_user(client)
    note = create_note(client, headers, tags=["alone", "shared"])
    create_note(client, headers, tags=["shared"])
    create_note(client, other, tags=["alone"])

    assert client.delete(f"/notes/{note['id']}", headers=headers).status_code == 204

    assert tag_counts(client, headers) == [("shared", 1)]
    assert tag_counts(client, other) == [("alone", 1)]


def test_a_removed_tag_name_can_be_used_again(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["again"])
    client.delete(f"/notes/{note['id']}", headers=headers)

    again = create_note(client, headers, tags=["again"])

    assert tag_counts(client, headers) == [("again", 1)]
    assert [n["id"] for n in by_tag(client, headers, tag="again")["notes"]] == [again["id"]]
    assert [n["id"] for n in all_notes(client, headers)] == [again["id"]]


def test_renaming_a_tags_case_makes_a_new_tag_and_drops_the_old(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["study"])

    client.put(f"/notes/{note['id']}", json={"tags": ["Study"]}, headers=headers)

    assert tag_counts(client, headers) == [("Study", 1)]


def test_a_tag_lists_imported_and_retagged_notes_by_when_they_were_written(client: TestClient) -> None:
    # Imported notes keep the created_at of their file, whatever order they arrive in; a note whose tags
    # change keeps its place. The tag's listing is in the same order as the notes' own.
    _, headers = new_user(client)
    written = ["2026-01-03T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]
    body = {"notes": [{"title": at, "content": "c", "memo_date": "20260101", "tags": ["kept"], "created_at": at}
                      for at in written]}  # fmt: skip
    assert client.post("/notes/import", json=body, headers=headers).status_code == 200
    fresh = create_note(client, headers, tags=["kept"])
    oldest = next(note for note in all_notes(client, headers) if note["title"] == written[1])
    retagged = client.put(f"/notes/{oldest['id']}", json={"tags": ["new", "kept"]}, headers=headers)
    assert retagged.status_code == 200, retagged.text

    titles = [note["title"] for note in by_tag(client, headers, tag="kept")["notes"]]

    assert titles == [fresh["title"], *sorted(written, reverse=True)]
    assert titles == [note["title"] for note in all_notes(client, headers)]
