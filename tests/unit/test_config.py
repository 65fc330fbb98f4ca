"""Settings refuse a bad first admin with one line naming the variable (issue 11, finding 6)."""

import pytest

from config import InvalidConfiguration, load_settings

SECRET = "ci-only-secret-that-is-long-enough-0123456789"
GOOD = {"first_admin_email": "admin@example.com", "first_admin_password": "admin password", "first_admin_name": "Ad"}


def settings(**overrides: str) -> object:
    return load_settings(_env_file=None, jwt_secret=SECRET, **{**GOOD, **overrides})


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("first_admin_email", "a" * 250 + "@example.com", "FIRST_ADMIN_EMAIL: must be at most 254 characters"),
        ("first_admin_email", "not an address@", "FIRST_ADMIN_EMAIL: not a valid email address"),
        ("first_admin_email", "two@@example.com", "FIRST_ADMIN_EMAIL: not a valid email address"),
        ("first_admin_name", "A", "FIRST_ADMIN_NAME: name must be 2 to 32 characters"),
        ("first_admin_name", "A" * 33, "FIRST_ADMIN_NAME: name must be 2 to 32 characters"),
        ("first_admin_name", "Bad\x07name", "FIRST_ADMIN_NAME: name must not be blank or contain control characters"),
        ("first_admin_password", "short", "FIRST_ADMIN_PASSWORD: password must be 8 to 64 characters"),
        ("first_admin_password", "x" * 65, "FIRST_ADMIN_PASSWORD: password must be 8 to 64 characters"),
        ("first_admin_password", "nul\x00in the middle", "FIRST_ADMIN_PASSWORD: password must not contain NUL"),
    ],
)
def test_a_bad_first_admin_stops_the_start_with_one_line(variable: str, value: str, says: str) -> None:
    with pytest.raises(InvalidConfiguration) as refused:
        settings(**{variable: value})

    message = str(refused.value)
    assert message.startswith(f"configuration error: {says}"), message
    assert "\n" not in message
    if variable == "first_admin_password":
        assert value not in message  # a password is never echoed


def test_the_first_admin_email_is_normalized_like_a_signup() -> None:
    assert settings(first_admin_email=" Admin@BÜCHER.example ").first_admin_email == "Admin@bücher.example"
