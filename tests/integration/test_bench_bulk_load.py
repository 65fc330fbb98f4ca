"""The benchmark's bulk loader writes exactly what the API would: its users log
in with the real login, and its notes read back through the API like notes the
API wrote (order, tags, versions, counts, search)."""

from pathlib import Path

from fastapi.testclient import TestClient

from bench.bulk_load import COMMON_TAG, PASSWORD, bulk_load
from main import create_app
from tests.support.app import bearer, login, make_settings, migrate


def test_bulk_loaded_users_and_notes_read_back_through_the_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    migrate(url)

    sampled = bulk_load(url, users=3, notes_per_user=10, sample=2, sample_notes_per_user=12)

    assert len(sampled) == 2
    with TestClient(create_app(make_settings(url))) as client:
        user = sampled[0]
        headers = bearer(login(client, user["email"], PASSWORD))
        listing = client.get("/notes", params={"items_per_page": 100}, headers=headers).json()
        assert listing["total_count"] == 12
        assert [note["id"] for note in listing["notes"]] == user["note_ids"][::-1]  # newest first

        first = client.get(f"/notes/{user['note_ids'][0]}", headers=headers)
        assert first.status_code == 200
        assert first.headers["ETag"] == '"1"'
        assert COMMON_TAG in first.json()["tags"]
        assert first.json()["user_id"] == user["id"]

        by_tag = client.get(f"/notes/tags/{COMMON_TAG}/notes", headers=headers).json()
        assert by_tag["total_count"] == 4  # every third note: 0, 3, 6, 9
        tags = {tag["name"]: tag["note_count"] for tag in client.get("/tags", headers=headers).json()["tags"]}
        assert tags[COMMON_TAG] == 4
        # The folded search text is loaded too: the benchmark's searches find what the API's would.
        searched = client.get("/notes", params={"q": COMMON_TAG.upper()}, headers=headers).json()
        assert [note["id"] for note in searched["notes"]] == [note["id"] for note in by_tag["notes"]]
        assert client.get("/notes", params={"q": "TIL 배운"}, headers=headers).json()["total_count"] == 12
        assert sum(tags.values()) == sum(len(note["tags"]) for note in listing["notes"])

        created = client.post(
            "/notes",
            headers=headers,
            json={"title": "API", "content": "written by the API", "memo_date": "20261127", "tags": ["x"]},
        )
        assert created.status_code == 201
        assert created.headers["ETag"] == first.headers["ETag"]
        assert set(created.json()) == set(first.json())

        other = sampled[1]
        other_headers = bearer(login(client, other["email"], PASSWORD))
        assert client.get("/notes", headers=other_headers).json()["total_count"] == 12

        rest = client.post("/users/login", data={"username": "bench-2@bench.example.com", "password": PASSWORD})
        assert rest.status_code == 200
        rest_notes = client.get("/notes", headers=bearer(rest.json()["access_token"])).json()
        assert rest_notes["total_count"] == 3 * 10 - 2 * 12
