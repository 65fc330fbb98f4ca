"""bench/on_loop.py measures the same work both ways: the app it runs in threads serves the note reads
from worker threads over PyMySQL, the app as shipped on MariaDB from the event loop's own thread over
asyncmy, and both answer exactly the same."""

import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bench import on_loop
from main import create_app
from note.infra import repository
from tests.support.app import make_settings, new_user
from tests.support.notes import create_note


def test_the_reads_in_threads_answer_what_the_reads_on_the_loop_answer(
    mariadb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(mariadb_url)
    with TestClient(create_app(settings)) as client:
        _user, headers = new_user(client)
        note_id = create_note(client, headers, title="on the loop", tags=["common"])["id"]
        for number in range(11):
            create_note(client, headers, title=f"threaded {number}")
    paths = ["/notes", f"/notes/{note_id}", "/notes/tags/common/notes", "/notes?q=loop"]

    readers: list[tuple[int, str]] = []  # (thread, driver) of each page the repository read
    page_for_user = repository.SqlAlchemyNoteRepository.page_for_user

    def watched(self: repository.SqlAlchemyNoteRepository, **kwargs: Any) -> Any:
        readers.append((threading.get_ident(), self._session.get_bind().dialect.driver))
        return page_for_user(self, **kwargs)

    monkeypatch.setattr(repository.SqlAlchemyNoteRepository, "page_for_user", watched)

    def read(app: FastAPI) -> tuple[list[Any], int, list[tuple[int, str]]]:
        readers.clear()
        with TestClient(app) as client:
            loop_thread = client.portal.call(threading.get_ident)
            answers = [client.get(path, headers=headers) for path in paths]
        assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
        return [answer.json() for answer in answers], loop_thread, list(readers)

    on_loop_answers, loop_thread, on_loop_readers = read(create_app(settings))
    threaded_answers, threaded_loop, threaded_readers = read(on_loop.app_in_threads(settings))

    assert threaded_answers == on_loop_answers
    assert on_loop_answers[3]["total_count"] == 1
    assert on_loop_readers == [(loop_thread, "asyncmy")] * 2  # GET /notes and the search
    assert [driver for _, driver in threaded_readers] == ["pymysql"] * 2
    assert all(thread != threaded_loop for thread, _ in threaded_readers)
