"""Password reset and email verification end to end (SPEC §10, §4, §6): the real emails, read from an
SMTP server in this process (aiosmtpd), their links and tokens followed, on SQLite and MariaDB, no broker."""

import logging
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from mail.domain.outbox_email import EmailStatus
from observability.log import JsonFormatter
from tests.support import log_audit
from tests.support.app import PASSWORD, TEST_JWT_SECRET, app_client, assert_user_json, bearer, login, unique_email
from tests.support.email import Delivered, SmtpSink, outbox_rows, smtp_sink, wait_until
from tests.support.live_server import live_server, main_py
from user.domain.account_token import hash_token
from user.infra.db_models import AccountTokenRow

PUBLIC_URL = "https://til.example.test:8443"
INVALID = {"detail": "Invalid or expired token"}
NEW_PASSWORD = "a brand new password 비밀번호"
RESET_SUBJECT = "비밀번호 재설정 안내"
VERIFY_SUBJECT = "이메일 주소를 확인해 주세요"
CHANGED_SUBJECT = "비밀번호가 변경되었습니다"
PAGE_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9_-]+)")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as running:
        yield running


def recovery_client(database_url: str, app: FastAPI, sink: SmtpSink, **overrides: object):
    return app_client(
        database_url,
        restore=app,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        public_url=PUBLIC_URL,
        email_relay_interval_seconds=0.2,
        email_retry_base_seconds=0.5,
        **overrides,
    )


@pytest.fixture
def client(database_url: str, app: FastAPI, sink: SmtpSink) -> Iterator[TestClient]:
    with recovery_client(database_url, app, sink) as running:
        yield running


def emails(sink: SmtpSink, recipient: str, subject: str, *, count: int = 1, timeout: float = 10) -> list[Delivered]:
    """Wait for ``count`` emails with ``subject`` to ``recipient``; fail if more arrive."""

    def arrived() -> list[Delivered] | None:
        mine = [d for d in sink.to(recipient) if d.message["Subject"] == subject]
        return mine if len(mine) >= count else None

    found = wait_until(arrived, timeout=timeout, what=f"{count} '{subject}' email(s) to {recipient}")
    assert len(found) == count, [d.message["Subject"] for d in found]
    return found


def link_and_token(delivered: Delivered, page: str) -> tuple[str, str]:
    """The page link of the email (text and HTML agree) and the token it carries, also shown on its own."""
    plain, html = delivered.part("text/plain"), delivered.part("text/html")
    [link] = re.findall(rf"{re.escape(PUBLIC_URL)}{page}\?token=[A-Za-z0-9_-]+", plain)
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert f'href="{link}"' in html
    assert plain.count(token) >= 2  # the link, and the token itself for API clients
    assert len(token) >= 43  # 32 random bytes, URL-safe
    log_audit.remember_secret(token, what="a password-reset or verification token")
    return link, token


def sign_up(client: TestClient, sink: SmtpSink, *, name: str = "Dexter", password: str = PASSWORD) -> tuple[dict, str]:
    """A new account and the verification token of its welcome email."""
    email = unique_email("recovery")
    log_audit.remember_secret(password, what="a password used at signup")
    response = client.post("/users", json={"name": name, "email": email, "password": password})
    assert response.status_code == 201, response.text
    [welcome] = emails(sink, email, "회원가입을 환영합니다.")
    _, token = link_and_token(welcome, "/verify-email")
    return response.json(), token


def request_reset(client: TestClient, sink: SmtpSink, email: str, *, count: int = 1, spelled: str = "") -> str:
    response = client.post("/users/password-reset", json={"email": spelled or email})
    assert response.status_code == 202, response.text
    delivered = emails(sink, email, RESET_SUBJECT, count=count)[-1]
    _, token = link_and_token(delivered, "/reset-password")
    return token


# the user object and the welcome email


def test_a_new_account_is_unverified_and_its_welcome_email_verifies_it(client: TestClient, sink: SmtpSink) -> None:
    user, token = sign_up(client, sink, name="Dex & <Rita>")
    assert_user_json(user)
    assert user["email_verified"] is False
    [welcome] = sink.to(user["email"])
    assert "Dex &amp; &lt;Rita&gt;" in welcome.part("text/html")

    first = client.post("/users/email-verification/confirm", json={"token": token})
    again = client.post("/users/email-verification/confirm", json={"token": token})

    assert first.status_code == again.status_code == 200, first.text
    assert_user_json(first.json())
    assert first.json()["email_verified"] is True
    assert first.json()["id"] == user["id"]
    me = client.get("/users/me", headers=bearer(login(client, user["email"])))
    assert me.json()["email_verified"] is True


@pytest.mark.parametrize("body", [{"token": "x" * 43}, {"token": "unknown"}])
def test_an_unknown_verification_token_is_400_with_the_one_body(client: TestClient, body: dict) -> None:
    response = client.post("/users/email-verification/confirm", json=body)

    assert (response.status_code, response.json()) == (400, INVALID)


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": 5}, {"token": "not/url safe"}, {"token": "x" * 129}])
def test_a_malformed_confirmation_is_422(client: TestClient, body: dict) -> None:
    for path in ("/users/email-verification/confirm", "/users/password-reset/confirm"):
        response = client.post(path, json={"password": NEW_PASSWORD, **body})
        assert response.status_code == 422, (path, body, response.text)


def test_an_expired_verification_token_is_400(
    client: TestClient, sink: SmtpSink, session_factory: sessionmaker[Session]
) -> None:
    _, token = sign_up(client, sink)
    expire(session_factory, token)

    response = client.post("/users/email-verification/confirm", json={"token": token})

    assert (response.status_code, response.json()) == (400, INVALID)


def expire(session_factory: sessionmaker[Session], token: str) -> None:
    with session_factory() as session:
        session.execute(
            update(AccountTokenRow)
            .where(AccountTokenRow.token_hash == hash_token(token))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()


# verification resends


def test_a_resend_sends_a_new_working_link_until_the_hourly_limit_then_429(client: TestClient, sink: SmtpSink) -> None:
    user, _ = sign_up(client, sink)
    headers = bearer(login(client, user["email"]))
    for count in (1, 2, 3):  # ACCOUNT_EMAILS_PER_HOUR: the welcome email does not count
        response = client.post("/users/email-verification", headers=headers)
        assert response.status_code == 202, response.text
        assert isinstance(response.json()["detail"], str)
        emails(sink, user["email"], VERIFY_SUBJECT, count=count)

    refused = client.post("/users/email-verification", headers=headers)

    assert refused.status_code == 429, refused.text
    assert 3000 < int(refused.headers["Retry-After"]) <= 3601
    time.sleep(0.5)
    assert len(emails(sink, user["email"], VERIFY_SUBJECT, count=3)) == 3
    _, token = link_and_token(emails(sink, user["email"], VERIFY_SUBJECT, count=3)[-1], "/verify-email")
    assert client.post("/users/email-verification/confirm", json={"token": token}).json()["email_verified"] is True


def test_a_verified_account_asking_for_a_resend_is_409_and_anonymous_401(client: TestClient, sink: SmtpSink) -> None:
    user, token = sign_up(client, sink)
    client.post("/users/email-verification/confirm", json={"token": token})

    response = client.post("/users/email-verification", headers=bearer(login(client, user["email"])))

    assert response.status_code == 409, response.text
    assert client.post("/users/email-verification").status_code == 401


# password reset


def test_a_reset_changes_the_password_ends_logins_and_sends_the_notice(client: TestClient, sink: SmtpSink) -> None:
    user, _ = sign_up(client, sink, name="Dex <b>")
    old_login = bearer(login(client, user["email"]))
    token = request_reset(client, sink, user["email"], spelled=user["email"].upper())
    log_audit.remember_secret(NEW_PASSWORD, what="a password set by a reset")

    response = client.post("/users/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert client.get("/users/me", headers=old_login).status_code == 401
    wrong = client.post("/users/login", data={"username": user["email"], "password": PASSWORD})
    assert wrong.status_code == 401
    assert login(client, user["email"], NEW_PASSWORD)
    [notice] = emails(sink, user["email"], CHANGED_SUBJECT)
    assert "Dex &lt;b&gt;" in notice.part("text/html")
    again = client.post("/users/password-reset/confirm", json={"token": token, "password": "another password"})
    assert (again.status_code, again.json()) == (400, INVALID)


def test_unknown_and_known_addresses_get_the_same_202_and_only_an_account_gets_an_email(
    client: TestClient, sink: SmtpSink
) -> None:
    user, _ = sign_up(client, sink)
    nobody = unique_email("nobody")

    known = client.post("/users/password-reset", json={"email": user["email"]})
    unknown = client.post("/users/password-reset", json={"email": nobody})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert set(known.json()) == {"detail"}
    emails(sink, user["email"], RESET_SUBJECT)
    time.sleep(0.5)
    assert sink.to(nobody) == []


def test_a_newer_reset_request_voids_the_older_token(client: TestClient, sink: SmtpSink) -> None:
    user, _ = sign_up(client, sink)
    older = request_reset(client, sink, user["email"], count=1)
    newer = request_reset(client, sink, user["email"], count=2)

    superseded = client.post("/users/password-reset/confirm", json={"token": older, "password": NEW_PASSWORD})
    current = client.post("/users/password-reset/confirm", json={"token": newer, "password": NEW_PASSWORD})

    assert (superseded.status_code, superseded.json()) == (400, INVALID)
    assert current.status_code == 204


def test_an_expired_reset_token_is_400_and_changes_nothing(
    client: TestClient, sink: SmtpSink, session_factory: sessionmaker[Session]
) -> None:
    user, _ = sign_up(client, sink)
    token = request_reset(client, sink, user["email"])
    expire(session_factory, token)

    response = client.post("/users/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})

    assert (response.status_code, response.json()) == (400, INVALID)
    assert login(client, user["email"], PASSWORD)


def test_past_the_hourly_limit_reset_requests_still_answer_202_and_send_nothing(
    client: TestClient, sink: SmtpSink
) -> None:
    user, _ = sign_up(client, sink)
    for count in (1, 2, 3):
        request_reset(client, sink, user["email"], count=count)

    response = client.post("/users/password-reset", json={"email": user["email"]})

    assert response.status_code == 202
    time.sleep(0.6)
    assert len([d for d in sink.to(user["email"]) if d.message["Subject"] == RESET_SUBJECT]) == 3


def test_a_reset_clears_the_login_throttle(client: TestClient, sink: SmtpSink) -> None:
    user, _ = sign_up(client, sink)
    for _ in range(5):  # LOGIN_MAX_FAILURES
        client.post("/users/login", data={"username": user["email"], "password": "not the password"})
    assert client.post("/users/login", data={"username": user["email"], "password": PASSWORD}).status_code == 429
    token = request_reset(client, sink, user["email"])

    client.post("/users/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})

    assert login(client, user["email"], NEW_PASSWORD)


def test_a_reset_token_of_a_deleted_account_is_400(client: TestClient, sink: SmtpSink) -> None:
    user, _ = sign_up(client, sink)
    token = request_reset(client, sink, user["email"])
    assert client.delete("/users", headers=bearer(login(client, user["email"]))).status_code == 204

    response = client.post("/users/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})

    assert (response.status_code, response.json()) == (400, INVALID)


def test_a_password_change_through_put_users_sends_the_notice(client: TestClient, sink: SmtpSink) -> None:
    user, _ = sign_up(client, sink)
    headers = bearer(login(client, user["email"]))
    client.put("/users", json={"name": "Renamed"}, headers=headers)
    log_audit.remember_secret(NEW_PASSWORD, what="a password set by PUT /users")

    response = client.put("/users", json={"password": NEW_PASSWORD, "current_password": PASSWORD}, headers=headers)

    assert response.status_code == 200, response.text
    [notice] = emails(sink, user["email"], CHANGED_SUBJECT)
    assert "Renamed" in notice.part("text/plain")


RESET_TIMING_TRIES = 30
RESET_TIMING_TOLERANCE = 1.2  # the slower median at most 20 % above the faster, as for logins


def test_a_reset_request_takes_about_as_long_for_an_unknown_address(
    database_url: str, sink: SmtpSink, tmp_path: Path
) -> None:
    """No account enumeration by timing, as a client sees it: ``python main.py`` on the session's database,
    tried alternately like the login test does, the medians compared."""
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "ACCOUNT_EMAILS_PER_HOUR": "100",
        "LOG_LEVEL": "WARNING",
    }
    with (
        live_server(name="reset-timing", command=main_py(), workdir=tmp_path, env=env) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        email = unique_email("timing")
        assert http.post("/users", json={"name": "Dex", "email": email, "password": PASSWORD}).status_code == 201
        pair: tuple[tuple[list[float], str], ...] = (([], email), ([], unique_email("nobody")))
        for number in range(3 + RESET_TIMING_TRIES):
            for timings, address in pair if number % 2 else reversed(pair):
                started = time.perf_counter()
                response = http.post("/users/password-reset", json={"email": address})
                if number >= 3:  # the first three warm both paths up
                    timings.append(time.perf_counter() - started)
                assert response.status_code == 202
    known, unknown = (statistics.median(timings) for timings, _ in pair)
    slower, faster = max(known, unknown), min(known, unknown)
    assert slower <= faster * RESET_TIMING_TOLERANCE, f"known {known * 1000:.1f} ms, unknown {unknown * 1000:.1f} ms"


# REQUIRE_VERIFIED_EMAIL


def test_with_require_verified_email_an_unverified_account_keeps_only_the_user_routes(
    database_url: str, app: FastAPI, sink: SmtpSink
) -> None:
    with recovery_client(database_url, app, sink, require_verified_email=True) as client:
        user, token = sign_up(client, sink)
        headers = bearer(login(client, user["email"]))
        assert client.get("/users/me", headers=headers).status_code == 200
        assert client.post("/users/email-verification", headers=headers).status_code == 202
        for method, path in (("GET", "/notes"), ("GET", "/tags"), ("POST", "/notes")):
            refused = client.request(method, path, headers=headers, json={})
            assert (refused.status_code, refused.json()) == (403, {"detail": "Verify your email address first"})

        client.post("/users/email-verification/confirm", json={"token": token})

        assert client.get("/notes", headers=headers).status_code == 200
    with recovery_client(database_url, app, sink) as lenient:
        other, _ = sign_up(lenient, sink)
        assert lenient.get("/notes", headers=bearer(login(lenient, other["email"]))).status_code == 200


# the pages


def test_the_reset_page_shows_a_form_and_never_uses_the_token_up(client: TestClient, sink: SmtpSink) -> None:
    user, _ = sign_up(client, sink)
    token = request_reset(client, sink, user["email"])

    for _ in range(2):  # a mail scanner opened it first
        page = client.get("/reset-password", params={"token": token})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert {name: page.headers[name] for name in PAGE_HEADERS} == PAGE_HEADERS
        assert '<form method="post" action="/reset-password">' in page.text
        assert f'name="token" value="{token}"' in page.text
        assert 'name="password_confirm"' in page.text
        assert "<script" not in page.text
        assert "http" not in page.text.replace(PUBLIC_URL, "")

    done = client.post(
        "/reset-password", data={"token": token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )

    assert done.status_code == 200
    assert 'id="success"' in done.text
    assert {name: done.headers[name] for name in PAGE_HEADERS} == PAGE_HEADERS
    assert login(client, user["email"], NEW_PASSWORD)
    gone = client.get("/reset-password", params={"token": token})
    assert gone.status_code == 400
    assert 'id="error"' in gone.text


@pytest.mark.parametrize(
    ("password", "confirm", "reason"),
    [(NEW_PASSWORD, NEW_PASSWORD + "!", "do not match"), ("short", "short", "8 to 64 characters")],
)
def test_a_mismatched_or_bad_password_on_the_page_says_why_and_changes_nothing(
    client: TestClient, sink: SmtpSink, password: str, confirm: str, reason: str
) -> None:
    user, _ = sign_up(client, sink)
    token = request_reset(client, sink, user["email"])

    page = client.post("/reset-password", data={"token": token, "password": password, "password_confirm": confirm})

    assert page.status_code == 422
    assert reason in page.text
    assert f'value="{token}"' in page.text  # the form again, to try once more
    assert login(client, user["email"], PASSWORD)
    assert client.get("/reset-password", params={"token": token}).status_code == 200  # still usable


@pytest.mark.parametrize("token", ["", "unknown", '"><script>alert(1)</script>'])
def test_a_bad_token_on_the_pages_says_so(client: TestClient, token: str) -> None:
    for response in (
        client.get("/reset-password", params={"token": token}),
        client.post("/reset-password", data={"token": token, "password": PASSWORD, "password_confirm": PASSWORD}),
        client.get("/verify-email", params={"token": token}),
    ):
        assert response.status_code == 400
        assert 'id="error"' in response.text
        assert "<script>" not in response.text
        assert {name: response.headers[name] for name in PAGE_HEADERS} == PAGE_HEADERS


def test_the_verify_page_verifies(client: TestClient, sink: SmtpSink) -> None:
    user, token = sign_up(client, sink, name="Dex")

    page = client.get("/verify-email", params={"token": token})

    assert page.status_code == 200
    assert 'id="success"' in page.text
    assert {name: page.headers[name] for name in PAGE_HEADERS} == PAGE_HEADERS
    me = client.get("/users/me", headers=bearer(login(client, user["email"])))
    assert me.json()["email_verified"] is True


# secrets at rest


def test_no_raw_token_and_no_password_is_in_the_database_once_the_emails_are_sent(
    client: TestClient, sink: SmtpSink, session_factory: sessionmaker[Session]
) -> None:
    # Passwords of this test alone: the shared database holds other tests' (fake-hashed) ones.
    password, new_password = f"first {uuid.uuid4().hex}", f"second {uuid.uuid4().hex}"
    log_audit.remember_secret(password, what="a password used at signup")
    log_audit.remember_secret(new_password, what="a password set by a reset")
    user, verify_token = sign_up(client, sink, password=password)
    reset_token = request_reset(client, sink, user["email"])
    client.post("/users/password-reset/confirm", json={"token": reset_token, "password": new_password})
    emails(sink, user["email"], CHANGED_SUBJECT)

    def all_sent() -> bool:
        return all(row.status is EmailStatus.SENT for row in outbox_rows(session_factory, user["email"]))

    wait_until(all_sent, timeout=10, what="every email of the account marked sent")
    dump = database_text(session_factory)
    for secret in (verify_token, reset_token, password, new_password):
        assert secret not in dump
    assert hash_token(reset_token) in dump  # what is kept instead


def database_text(session_factory: sessionmaker[Session]) -> str:
    """Every value of every table, as text."""
    with session_factory() as session:
        metadata = MetaData()
        metadata.reflect(bind=session.get_bind())
        return "\n".join(repr(tuple(row)) for table in metadata.sorted_tables for row in session.execute(select(table)))


def test_the_periodic_pass_deletes_spent_tokens(
    client: TestClient, sink: SmtpSink, session_factory: sessionmaker[Session]
) -> None:
    user, _ = sign_up(client, sink)
    token = request_reset(client, sink, user["email"])
    client.post("/users/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    with session_factory() as session:  # an hour ago: out of the rate window
        session.execute(
            update(AccountTokenRow)
            .where(AccountTokenRow.user_id == user["id"])
            .values(created_at=datetime.now(UTC) - timedelta(hours=2))
        )
        session.commit()

    def purged() -> bool:
        with session_factory() as session:
            rows = session.execute(
                text("SELECT purpose FROM account_tokens WHERE user_id = :id"), {"id": user["id"]}
            ).all()
        return [row.purpose for row in rows] == ["email_verification"]  # the live one stays

    wait_until(purged, timeout=10, what="the relay's pass to delete the used reset token")


def test_no_raw_token_and_no_password_reaches_the_log(
    client: TestClient, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    """Every record of a whole recovery (pages with the token in the query string included), formatted as the
    service writes it, is free of the tokens and passwords."""
    caplog.set_level(logging.DEBUG)
    user, verify_token = sign_up(client, sink)
    client.get("/verify-email", params={"token": verify_token})
    reset_token = request_reset(client, sink, user["email"])
    client.get("/reset-password", params={"token": reset_token})
    form = {"token": reset_token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "?"}
    client.post("/reset-password", data=form)
    client.post("/reset-password", data={**form, "password_confirm": NEW_PASSWORD})
    emails(sink, user["email"], CHANGED_SUBJECT)
    client.post("/users/password-reset/confirm", json={"token": reset_token, "password": NEW_PASSWORD})

    formatter = JsonFormatter()
    service = [record for record in caplog.records if not record.name.startswith(log_audit.TEST_CLIENT_LOGGERS)]
    lines = [formatter.format(record) for record in service]
    assert any('"event":"request"' in line and "/reset-password" in line for line in lines)
    for line in lines:
        for secret in (verify_token, reset_token, PASSWORD, NEW_PASSWORD):
            assert secret not in line, line
