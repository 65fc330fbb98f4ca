"""The log audit's search (tests/support/log_audit.py), which decides whether a secret reached a log line."""

from tests.support.log_audit import Finding, find

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
SIGNATURE = "c2lnbmF0dXJl"
NEEDLES = {TOKEN: "an access token", SIGNATURE: "an access token's signature", "$argon2": "a password hash"}


def test_a_line_with_a_secret_is_found_and_named_by_the_longest_secret_in_it() -> None:
    lines = [
        ("in-process", '{"event":"request","status":200}'),
        ("server:stdout", f'{{"event":"oops","header":"Bearer {TOKEN}"}}'),
        ("server:stderr", f"signature {SIGNATURE} alone"),
        ("in-process", '{"hash":"$argon2id$v=19$m=65536"}'),
    ]

    assert find(NEEDLES, lines) == [
        Finding(source="server:stdout", what="an access token", line=lines[1][1]),
        Finding(source="server:stderr", what="an access token's signature", line=lines[2][1]),
        Finding(source="in-process", what="a password hash", line=lines[3][1]),
    ]


def test_clean_lines_give_no_finding() -> None:
    lines = [("in-process", '{"event":"request","path":"/notes","user_id":"01J0"}')] * 1000

    assert find(NEEDLES, lines) == []
