"""``CORS_ORIGINS``, ``TRUSTED_HOSTS`` and ``FORWARDED_ALLOW_IPS`` (SPEC §2, §15): read, normalised, or refused
with one line that names the variable."""

import pytest

from config import InvalidConfiguration, Settings, load_settings

SECRET = "unit-test-secret-that-is-long-enough-0123456789"


def settings_from(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> Settings:
    monkeypatch.setenv(variable, value)
    return load_settings(_env_file=None, jwt_secret=SECRET)


def refusal(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    with pytest.raises(InvalidConfiguration) as refused:
        settings_from(monkeypatch, variable, value)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"configuration error: {variable}: "), message
    return message


def test_all_three_are_off_by_default() -> None:
    settings = load_settings(_env_file=None, jwt_secret=SECRET)

    assert (settings.cors_origins, settings.trusted_hosts, settings.forwarded_allow_ips) == ((), (), ())


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://app.example.com", ("https://app.example.com",)),
        (" https://App.Example.com:443 , http://localhost:5173,", ("https://app.example.com", "http://localhost:5173")),
        ("http://127.0.0.1:80,http://127.0.0.1:8080", ("http://127.0.0.1", "http://127.0.0.1:8080")),
        ("http://[::1]:3000", ("http://[::1]:3000",)),
        ("https://a.example,https://a.example", ("https://a.example",)),
    ],
)
def test_cors_origins_are_read_as_a_browser_sends_them(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: tuple[str, ...]
) -> None:
    assert settings_from(monkeypatch, "CORS_ORIGINS", value).cors_origins == origins


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "https://*.example.com",
        "https://app.example.com/",
        "https://app.example.com/app",
        "https://app.example.com?x=1",
        "app.example.com",
        "ftp://app.example.com",
        "null",
        "https://app.example.com:99999",
        "https://app.example.com:port",
        "https://user:pass@app.example.com",
        "https://ok.example.com,https://bad.example.com/",
    ],
)
def test_a_bad_cors_origin_stops_the_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    refusal(monkeypatch, "CORS_ORIGINS", value)


@pytest.mark.parametrize(
    ("value", "hosts"),
    [
        ("api.example.com", ("api.example.com",)),
        ("API.example.com, *.example.com ,127.0.0.1", ("api.example.com", "*.example.com", "127.0.0.1")),
        ("[0:0::1],localhost", ("[::1]", "localhost")),
    ],
)
def test_trusted_hosts_are_names_in_lower_case(monkeypatch: pytest.MonkeyPatch, value: str, hosts: tuple) -> None:
    assert settings_from(monkeypatch, "TRUSTED_HOSTS", value).trusted_hosts == hosts


@pytest.mark.parametrize(
    "value", ["*", "api.example.com:8000", "https://api.example.com", "api.*.com", "api_example.com", "[::g]", "a b"]
)
def test_a_bad_trusted_host_stops_the_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    refusal(monkeypatch, "TRUSTED_HOSTS", value)


def test_forwarded_allow_ips_are_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(monkeypatch, "FORWARDED_ALLOW_IPS", "10.0.0.5, 172.16.0.0/12,fd00::1, 10.1.2.3/8")

    assert settings.forwarded_allow_ips == ("10.0.0.5", "172.16.0.0/12", "fd00::1", "10.0.0.0/8")


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.256", "10.0.0.0/33", "unix:/run/nginx.sock"])
def test_a_bad_proxy_address_stops_the_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    message = refusal(monkeypatch, "FORWARDED_ALLOW_IPS", value)

    assert "10.0.0.5" in message  # says what a good value looks like


def test_values_given_in_python_are_read_like_the_environment() -> None:
    settings = load_settings(
        _env_file=None, jwt_secret=SECRET, cors_origins=["HTTPS://App.example.com"], trusted_hosts="a.example,b.example"
    )

    assert settings.cors_origins == ("https://app.example.com",)
    assert settings.trusted_hosts == ("a.example", "b.example")
