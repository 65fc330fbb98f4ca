"""Export and import over HTTP (SPEC §12), on SQLite and MariaDB: both formats round-trip exactly, an
import is all or nothing and idempotent, users stay apart, and bad or oversized input is refused."""

import io
import json
import struct
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.app import app_client, new_user
from tests.support.notes import all_notes, create_note, tag_counts

JSON = {"content-type": "application/json"}
ZIP = {"content-type": "application/zip"}
TRICKY_NOTES: list[dict[str, Any]] = [
    {"title": "key: value", "content": "---\nnot: front matter\n---\n", "tags": ["b", "a", "한국어"]},
    {"title": "'single' \"double\" quotes", "content": "  indented\r\nwindows line\r\n\n\n", "tags": ["😀", "x y"]},
    {"title": "오늘 배운 것 🎉 👨‍👩‍👧", "content": "# heading\n\n- item\n", "memo_date": "00010101"},
    {"title": "null", "content": "true", "tags": ["yes", "123", "null", "~"], "memo_date": "99991231"},
    {"title": "- [not a list]", "content": "tab\tand \u2028 separator \u00a0", "tags": ["#tag", "&anchor", "*alias"]},
    {"title": "  padded title  ", "content": "ends without newline", "tags": []},
]


def export(client: TestClient, headers: dict[str, str], fmt: str | None = None) -> Any:
    response = client.get("/notes/export", params={"format": fmt} if fmt else {}, headers=headers)
    assert response.status_code == 200, response.text
    return response


def import_(client: TestClient, headers: dict[str, str], body: bytes, content_type: dict[str, str]) -> Any:
    return client.post("/notes/import", content=body, headers={**headers, **content_type})


def kept_fields(notes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a round trip keeps, oldest created first."""
    ordered = sorted(notes, key=lambda note: (note["created_at"], note["id"]))
    return [(n["title"], n["content"], n["memo_date"], n["tags"], n["created_at"]) for n in ordered]


def zip_of(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def markdown(front: dict[str, Any], content: str = "body") -> str:
    return f"---\n{yaml.safe_dump(front, allow_unicode=True)}---\n{content}"


def seeded_user(client: TestClient) -> tuple[dict[str, str], list[dict[str, Any]]]:
    _, headers = new_user(client)
    return headers, [create_note(client, headers, **fields) for fields in TRICKY_NOTES]


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_an_export_imported_into_an_empty_account_gives_the_same_notes(client: TestClient, fmt: str) -> None:
    alice, _ = seeded_user(client)
    _, bob = new_user(client)
    exported = export(client, alice, fmt)
    content_type = JSON if fmt == "json" else ZIP

    response = import_(client, bob, exported.content, content_type)

    assert response.status_code == 200, response.text
    assert response.json() == {"created": len(TRICKY_NOTES), "skipped": 0}
    assert kept_fields(all_notes(client, bob)) == kept_fields(all_notes(client, alice))
    assert tag_counts(client, bob) == tag_counts(client, alice)


def test_the_json_export_is_the_spec_shape_oldest_first_as_an_attachment(client: TestClient) -> None:
    alice, created = seeded_user(client)

    response = export(client, alice)

    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith('attachment; filename="til-notes-')
    assert response.headers["content-disposition"].endswith('.json"')
    body = response.json()
    assert set(body) == {"format", "version", "exported_at", "notes"}
    assert (body["format"], body["version"]) == ("til-notes", 1)
    expected = [{key: note[key] for key in body["notes"][0]} for note in created]
    assert body["notes"] == expected
    assert set(body["notes"][0]) == {"id", "title", "content", "memo_date", "tags", "created_at", "updated_at"}


def test_the_markdown_export_is_a_zip_of_front_matter_files(client: TestClient) -> None:
    alice, created = seeded_user(client)

    response = export(client, alice, "markdown")

    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].endswith('.zip"')
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == [f"notes/{note['memo_date']}-{note['id']}.md" for note in created]
    for note, name in zip(created, archive.namelist(), strict=True):
        text = archive.read(name).decode("utf-8")
        _, front, content = text.split("---\n", 2) if not note["content"].startswith("---") else ("", "", "")
        if front:
            assert content == note["content"]
            assert yaml.safe_load(front) == {key: note[key] for key in yaml.safe_load(front)}
            assert list(yaml.safe_load(front)) == ["id", "title", "memo_date", "tags", "created_at", "updated_at"]


def test_an_empty_account_exports_no_notes(client: TestClient) -> None:
    _, headers = new_user(client)

    assert export(client, headers).json()["notes"] == []
    assert zipfile.ZipFile(io.BytesIO(export(client, headers, "markdown").content)).namelist() == []


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_importing_the_same_file_twice_creates_nothing_new(client: TestClient, fmt: str) -> None:
    alice, _ = seeded_user(client)
    _, bob = new_user(client)
    body, content_type = export(client, alice, fmt).content, JSON if fmt == "json" else ZIP

    first, second = import_(client, bob, body, content_type), import_(client, bob, body, content_type)
    own = import_(client, alice, body, content_type)

    assert first.json() == {"created": len(TRICKY_NOTES), "skipped": 0}
    assert second.json() == own.json() == {"created": 0, "skipped": len(TRICKY_NOTES)}
    assert len(all_notes(client, bob)) == len(all_notes(client, alice)) == len(TRICKY_NOTES)


def test_a_deleted_note_comes_back_with_its_id_from_an_earlier_export(client: TestClient) -> None:
    _, headers = new_user(client)
    kept, gone = create_note(client, headers), create_note(client, headers, tags=["back"])
    body = export(client, headers).content
    assert client.delete(f"/notes/{gone['id']}", headers=headers).status_code == 204

    response = import_(client, headers, body, JSON)

    assert response.json() == {"created": 1, "skipped": 1}
    restored = client.get(f"/notes/{gone['id']}", headers=headers).json()
    assert restored == gone
    assert client.get(f"/notes/{kept['id']}", headers=headers).status_code == 200


def test_ids_absent_malformed_or_another_users_get_new_ids_and_are_remembered(client: TestClient) -> None:
    _, alice = new_user(client)
    _, bob = new_user(client)
    bobs = create_note(client, bob)
    notes = [
        {"title": "no id", "content": "c", "memo_date": "20261127"},
        {"id": "not-a-ulid", "title": "malformed", "content": "c", "memo_date": "20261127"},
        {"id": bobs["id"], "title": "bob's id", "content": "c", "memo_date": "20261127"},
    ]
    body = json.dumps({"notes": notes}).encode()

    first, again = import_(client, alice, body, JSON), import_(client, alice, body, JSON)

    assert first.json() == {"created": 3, "skipped": 0}
    assert again.json() == {"created": 1, "skipped": 2}  # a note without an id cannot be recognised
    ids = {note["id"] for note in all_notes(client, alice)}
    assert len(ids) == 4
    assert not ids & {"not-a-ulid", bobs["id"]}
    assert client.get(f"/notes/{bobs['id']}", headers=bob).json() == bobs


def test_an_import_touches_only_the_callers_notes(client: TestClient) -> None:
    alice, _ = seeded_user(client)
    before = all_notes(client, alice)
    _, bob = new_user(client)

    assert import_(client, bob, export(client, alice).content, JSON).status_code == 200

    assert all_notes(client, alice) == before
    assert {note["user_id"] for note in all_notes(client, bob)} != {before[0]["user_id"]}
    assert kept_fields(export(client, bob).json()["notes"]) == kept_fields(export(client, alice).json()["notes"])


def test_a_bad_json_note_is_422_naming_it_and_nothing_is_written(client: TestClient) -> None:
    _, headers = new_user(client)
    notes = [{"title": f"t{n}", "content": "c", "memo_date": "20261127", "tags": ["new-tag"]} for n in range(9)]
    notes[7]["title"] = "\x07bell"

    response = import_(client, headers, json.dumps({"notes": notes}).encode(), JSON)

    assert response.status_code == 422, response.text
    assert [detail["loc"] for detail in response.json()["detail"]] == [["body", "notes", 7, "title"]]
    assert all_notes(client, headers) == []
    assert tag_counts(client, headers) == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b"{not json", ["body"]),
        (b'{"notes": [{"title": "t", "content": "c", "memo_date": "20230229"}]}', ["body", "notes", 0, "memo_date"]),
        (b'{"notes": [{"title": "t", "content": "c"}]}', ["body", "notes", 0, "memo_date"]),
        (
            b'{"notes": [{"title": "t", "content": "c", "memo_date": "20261127", "tags": ["a"], "created_at": "x"}]}',
            ["body", "notes", 0, "created_at"],
        ),
        (
            b'{"notes": [{"title": "t", "content": "c", "memo_date": "20261127", "created_at": "2026-01-01T00:00"}]}',
            ["body", "notes", 0, "created_at"],
        ),
        (b'{"format": "other", "notes": []}', ["body", "format"]),
        (b'{"version": true, "notes": []}', ["body", "version"]),
        (b'{"version": 2, "notes": []}', ["body", "version"]),
        (
            b'{"notes": [{"title": "t", "content": "c", "memo_date": "20261127", "updated_at": 0}]}',
            ["body", "notes", 0, "updated_at"],
        ),
        (b'{"notes": [{"title": "t", "content": "c", "memo_date": 20261127}]}', ["body", "notes", 0, "memo_date"]),
    ],
)
def test_malformed_json_imports_are_422(client: TestClient, body: bytes, loc: list[Any]) -> None:
    _, headers = new_user(client)

    response = import_(client, headers, body, JSON)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
    assert all_notes(client, headers) == []


def test_a_bad_file_in_a_zip_is_422_naming_it_and_nothing_is_written(client: TestClient) -> None:
    _, headers = new_user(client)
    good = markdown({"title": "fine", "memo_date": "20261127", "tags": ["t"]})
    files = {"notes/a.md": good, "notes/b.md": markdown({"title": "x" * 65, "memo_date": "20261127"})}

    response = import_(client, headers, zip_of(files), ZIP)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "notes/b.md", "title"]
    assert all_notes(client, headers) == []


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes/no-front-matter.md", "just text"),
        ("notes/not-yaml.md", "---\ntitle: [unclosed\n---\nbody"),
        ("notes/a-list.md", "---\n- a\n---\nbody"),
        ("notes/latin1.md", "---\ntitle: caf\xe9\n---\n".encode("latin-1")),
        ("../escape.md", markdown({"title": "t", "memo_date": "20261127"})),
        ("notes/../../escape.md", markdown({"title": "t", "memo_date": "20261127"})),
        ("/etc/absolute.md", markdown({"title": "t", "memo_date": "20261127"})),
        ("C:/windows.md", markdown({"title": "t", "memo_date": "20261127"})),
    ],
)
def test_unreadable_or_unsafe_zip_entries_are_422_naming_them(client: TestClient, name: str, data: Any) -> None:
    _, headers = new_user(client)
    good = {"notes/good.md": markdown({"title": "t", "memo_date": "20261127"})}

    response = import_(client, headers, zip_of({**good, name: data}), ZIP)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", name]
    assert all_notes(client, headers) == []


def test_folders_and_other_files_in_a_zip_are_passed_over(client: TestClient) -> None:
    _, headers = new_user(client)
    files = {"notes/": "", "README.txt": "hello", "n.md": markdown({"title": "t", "memo_date": "20261127"}, "c\n")}

    response = import_(client, headers, zip_of(files), ZIP)

    assert response.json() == {"created": 1, "skipped": 0}
    assert [(n["title"], n["content"]) for n in all_notes(client, headers)] == [("t", "c\n")]


def test_a_body_that_is_not_a_zip_is_422(client: TestClient) -> None:
    _, headers = new_user(client)

    response = import_(client, headers, b"PK\x03\x04 but not really", ZIP)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_another_content_type_is_415(client: TestClient, content_type: str) -> None:
    _, headers = new_user(client)

    response = import_(client, headers, b'{"notes": []}', {"content-type": content_type})

    assert response.status_code == 415
    assert isinstance(response.json()["detail"], str)


def test_json_with_a_charset_is_json(client: TestClient) -> None:
    _, headers = new_user(client)
    body = json.dumps({"notes": [{"title": "t", "content": "c", "memo_date": "20261127"}]}).encode()

    response = import_(client, headers, body, {"content-type": "application/json; charset=utf-8"})

    assert response.json() == {"created": 1, "skipped": 0}


def test_a_zip_bomb_is_413_and_writes_nothing(client: TestClient) -> None:
    _, headers = new_user(client)
    bomb = zip_of({"notes/bomb.md": "---\ntitle: t\nmemo_date: '20261127'\n---\n" + "a" * (21 * 1024 * 1024)})
    assert len(bomb) < 100_000

    response = import_(client, headers, bomb, ZIP)

    assert response.status_code == 413, response.text
    assert all_notes(client, headers) == []


def test_a_zip_bomb_lying_about_its_size_is_refused_without_unpacking_it(client: TestClient) -> None:
    _, headers = new_user(client)
    bomb = bytearray(
        zip_of({"notes/bomb.md": "---\ntitle: t\nmemo_date: '20261127'\n---\n" + "a" * (30 * 1024 * 1024)})
    )
    # Both headers claim 100 bytes: a reader trusting them alone would unpack 30 MiB.
    struct.pack_into("<I", bomb, 22, 100)
    struct.pack_into("<I", bomb, bomb.rfind(b"PK\x01\x02") + 24, 100)

    response = import_(client, headers, bytes(bomb), ZIP)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "notes/bomb.md"]
    assert all_notes(client, headers) == []


def test_a_zip_of_more_than_100_000_entries_is_413(client: TestClient) -> None:
    _, headers = new_user(client)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for number in range(100_001):
            archive.writestr(f"{number}", b"")

    response = import_(client, headers, buffer.getvalue(), ZIP)

    assert response.status_code == 413, response.text
    assert all_notes(client, headers) == []


def test_an_import_may_be_larger_than_1_mib_while_other_routes_keep_1_mib(client: TestClient) -> None:
    _, headers = new_user(client)
    notes = [{"title": f"t{n}", "content": "x" * 19_000, "memo_date": "20261127"} for n in range(80)]
    body = json.dumps({"notes": notes}).encode()
    assert len(body) > 1024 * 1024

    response = import_(client, headers, body, JSON)
    too_big_note = client.post("/notes", content=body, headers={**headers, **JSON})

    assert response.json() == {"created": 80, "skipped": 0}
    assert too_big_note.status_code == 413


@pytest.fixture
def small_limit_client(database_url: str, app: FastAPI) -> Iterator[TestClient]:
    with app_client(database_url, restore=app, import_max_bytes=4096) as client:
        yield client


def test_a_body_past_import_max_bytes_is_413_declared_or_chunked(small_limit_client: TestClient) -> None:
    client = small_limit_client
    _, headers = new_user(client)
    notes = [{"title": f"t{n}", "content": "x" * 100, "memo_date": "20261127"} for n in range(40)]
    body = json.dumps({"notes": notes}).encode()
    assert len(body) > 4096

    declared = import_(client, headers, body, JSON)
    chunked = client.post("/notes/import", content=iter([body[:3000], body[3000:]]), headers={**headers, **JSON})

    assert (declared.status_code, chunked.status_code) == (413, 413)
    assert "IMPORT_MAX_BYTES" in declared.json()["detail"]
    assert all_notes(client, headers) == []


def test_a_zip_unpacking_past_import_max_bytes_is_413(small_limit_client: TestClient) -> None:
    client = small_limit_client
    _, headers = new_user(client)
    files = {f"n{n}.md": markdown({"title": "t", "memo_date": "20261127"}, "y" * 1000) for n in range(6)}
    body = zip_of(files)
    assert len(body) < 4096

    response = import_(client, headers, body, ZIP)

    assert response.status_code == 413, response.text
    assert all_notes(client, headers) == []
