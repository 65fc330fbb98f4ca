"""bench/on_loop.py measures the same work both ways: with its substitutions the service's routes
run on the event loop over asyncmy (no worker thread) and answer exactly what they answer as shipped."""

import threading

import pytest
from fastapi.testclient import TestClient

from bench import on_loop
from main import create_app
from note.infra import repository
from tests.support.app import make_settings, new_user
from tests.support.notes import create_note


def test_the_routes_on_the_loop_answer_what_the_threaded_routes_answer(
    mariadb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(mariadb_url)
    with TestClient(create_app(settings)) as client:
        _user, headers = new_user(client)
        note_id = create_note(client, headers, title="on the loop", tags=["common"])["id"]
        for number in range(11):
            create_note(client, headers, title=f"threaded {number}")
        paths = ["/notes", f"/notes/{note_id}", "/notes/tags/common/notes", "/notes?q=loop"]
        shipped = [client.get(path, headers=headers) for path in paths]

    threads_reading_notes: set[int] = set()
    page_for_user = repository.SqlAlchemyNoteRepository.page_for_user

    def watched(self: repository.SqlAlchemyNoteRepository, **kwargs: object) -> object:
        threads_reading_notes.add(threading.get_ident())
        return page_for_user(self, **kwargs)

    monkeypatch.setattr(repository.SqlAlchemyNoteRepository, "page_for_user", watched)
    with on_loop.routes_on_the_loop():
        app = create_app(settings)
        with TestClient(app) as client:
            assert app.state.container.engine().dialect.driver == "asyncmy"
            loop_thread = client.portal.call(threading.get_ident)
            on_the_loop = [client.get(path, headers=headers) for path in paths]

    assert [response.status_code for response in shipped] == [200, 200, 200, 200]
    assert [response.json() for response in on_the_loop] == [response.json() for response in shipped]
    assert shipped[3].json()["total_count"] == 1
    assert threads_reading_notes == {loop_thread}  # the event loop's own thread: no worker thread
