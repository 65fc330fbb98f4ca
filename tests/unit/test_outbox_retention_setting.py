"""``OUTBOX_RETENTION_DAYS``: 30 by default, a whole number of days from 1 to 3650, refused at start otherwise."""

import pytest

from config import InvalidConfiguration, load_settings

SECRET = "ci-only-secret-that-is-long-enough-0123456789"


def test_the_default_keeps_sent_emails_30_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTBOX_RETENTION_DAYS", raising=False)

    assert load_settings(jwt_secret=SECRET).outbox_retention_days == 30


def test_the_environment_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOX_RETENTION_DAYS", "7")

    assert load_settings(jwt_secret=SECRET).outbox_retention_days == 7


@pytest.mark.parametrize("value", ["0", "-1", "3651", "1.5", "a week"])
def test_a_bad_value_stops_the_start_naming_the_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OUTBOX_RETENTION_DAYS", value)

    with pytest.raises(InvalidConfiguration, match="OUTBOX_RETENTION_DAYS"):
        load_settings(jwt_secret=SECRET)
