"""The settings of SPEC §10: PUBLIC_URL, token lifetimes, the hourly limit, REQUIRE_VERIFIED_EMAIL."""

import pytest

from config import InvalidConfiguration, load_settings

SECRET = "ci-only-secret-that-is-long-enough-0123456789"
VARIABLES = (
    "PUBLIC_URL",
    "PASSWORD_RESET_TOKEN_MINUTES",
    "EMAIL_VERIFICATION_TOKEN_HOURS",
    "ACCOUNT_EMAILS_PER_HOUR",
    "REQUIRE_VERIFIED_EMAIL",
    "HOST",
    "PORT",
)


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def test_the_defaults() -> None:
    settings = load_settings(jwt_secret=SECRET, _env_file=None)

    assert settings.public_url == "http://127.0.0.1:8000"  # http://HOST:PORT
    assert settings.password_reset_token_minutes == 30
    assert settings.email_verification_token_hours == 48
    assert settings.account_emails_per_hour == 3
    assert settings.require_verified_email is False


def test_public_url_follows_host_and_port_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9000")
    assert load_settings(jwt_secret=SECRET, _env_file=None).public_url == "http://0.0.0.0:9000"

    monkeypatch.setenv("PUBLIC_URL", "https://til.example.com/notes/")
    assert load_settings(jwt_secret=SECRET, _env_file=None).public_url == "https://til.example.com/notes"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PUBLIC_URL", "til.example.com"),
        ("PUBLIC_URL", "ftp://til.example.com"),
        ("PUBLIC_URL", "https://til.example.com:port"),
        ("PUBLIC_URL", "https://til.example.com/?a=1"),
        ("PASSWORD_RESET_TOKEN_MINUTES", "0"),
        ("PASSWORD_RESET_TOKEN_MINUTES", "half an hour"),
        ("EMAIL_VERIFICATION_TOKEN_HOURS", "-1"),
        ("ACCOUNT_EMAILS_PER_HOUR", "0"),
        ("REQUIRE_VERIFIED_EMAIL", "maybe"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(InvalidConfiguration, match=variable):
        load_settings(jwt_secret=SECRET, _env_file=None)
