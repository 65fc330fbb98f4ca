"""Helpers for the note tests: note bodies, HTTP shortcuts, and users for repository tests."""

import itertools
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from common.ulid_ids import UlidIdGenerator
from note.infra.share_token_cipher import AesGcmShareTokenCipher
from tests.support.app import TEST_JWT_SECRET
from user.domain.user import Role, User
from user.infra.unit_of_work import SqlAlchemyUserUnitOfWork

_counter = itertools.count(1)
# What the service's container builds from the test settings' secret.
SHARE_CIPHER = AesGcmShareTokenCipher(TEST_JWT_SECRET)


def note_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /notes body; each call gets a distinct title."""
    body: dict[str, Any] = {
        "title": f"note {next(_counter)}",
        "content": "What I learned today.",
        "memo_date": "20261127",
        "tags": [],
    }
    body.update(overrides)
    return body


def create_note(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post("/notes", json=note_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def all_notes(client: TestClient, headers: dict[str, str], *, path: str = "/notes") -> list[dict[str, Any]]:
    """Every note a listing returns, page by page (100 per page)."""
    notes: list[dict[str, Any]] = []
    for page in itertools.count(1):
        response = client.get(path, params={"page": page, "items_per_page": 100}, headers=headers)
        assert response.status_code == 200, response.text
        notes.extend(response.json()["notes"])
        if len(notes) >= response.json()["total_count"] or not response.json()["notes"]:
            return notes
    raise AssertionError("unreachable")


def tag_counts(client: TestClient, headers: dict[str, str]) -> list[tuple[str, int]]:
    response = client.get("/tags", headers=headers)
    assert response.status_code == 200, response.text
    return [(tag["name"], tag["note_count"]) for tag in response.json()["tags"]]


def insert_user(session_factory: sessionmaker[Session]) -> str:
    """A row in ``users`` for repository tests (notes and tags reference it); its id."""
    user_id = UlidIdGenerator().new_id()
    now = datetime.now(UTC)
    with SqlAlchemyUserUnitOfWork(session_factory) as uow:
        uow.users.add(
            User(
                id=user_id,
                name="Note Tester",
                email=f"{user_id.lower()}@example.com",
                password_hash="not-a-real-hash",
                role=Role.USER,
                created_at=now,
                updated_at=now,
            )
        )
        uow.commit()
    return user_id
