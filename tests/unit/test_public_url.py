"""``PUBLIC_URL`` (SPEC §2): the base of every link the service hands out; ``http://HOST:PORT`` by
default, refused at start when it is not an http(s) URL, and never with a trailing slash."""

import pytest

from config import InvalidConfiguration, load_settings

SECRET = "unit-test-secret-that-is-long-enough-0123456789"


def public_url(**overrides: object) -> str | None:
    return load_settings(_env_file=None, jwt_secret=SECRET, **overrides).public_url


def test_the_default_is_where_main_py_listens() -> None:
    assert public_url() == "http://127.0.0.1:8000"
    assert public_url(host="0.0.0.0", port=18500) == "http://0.0.0.0:18500"
    assert public_url(host="::1", port=18501) == "http://[::1]:18501"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("https://til.example.com", "https://til.example.com"),
        ("https://til.example.com/", "https://til.example.com"),
        ("https://example.com/til//", "https://example.com/til"),
        ("http://127.0.0.1:18502", "http://127.0.0.1:18502"),
        ("HTTPS://Til.Example.com:8443/notes", "https://Til.Example.com:8443/notes"),
    ],
)
def test_a_given_url_is_used_without_its_trailing_slash(given: str, used: str) -> None:
    assert public_url(public_url=given) == used


@pytest.mark.parametrize(
    "value",
    [
        "til.example.com",
        "ftp://til.example.com",
        "javascript:alert(1)",
        "https://",
        "https://til.example.com:abc",
        "https://til.example.com/?a=1",
        "https://til.example.com/#top",
        "https://user:pass@til.example.com",
    ],
)
def test_a_malformed_url_stops_the_start_with_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(InvalidConfiguration) as stopped:
        public_url(public_url=value)

    message = str(stopped.value)
    assert message.startswith("configuration error: PUBLIC_URL: "), message
    assert "\n" not in message
