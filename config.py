"""Settings: read once at start from the environment and ``.env``.

Every variable is optional. A bad value stops the start with one line that
names the variable (``load_settings`` raises ``SystemExit`` with it), never
a traceback. Only ``main.py``, ``containers.py`` and ``migrations/env.py``
call ``load_settings``; everything else receives plain values.
"""

import ipaddress
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from common.email_address import NotAnEmailAddress, normalize_email
from database.engine import PRIVATE_DIRECTORY, PRIVATE_FILE
from user.domain.errors import InvalidUserInput
from user.domain.user import EMAIL_MAX_LENGTH, check_name, check_password

MIN_JWT_SECRET_BYTES = 32
GENERATE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
JWT_SECRET_FILE = "jwt_secret"

Port = Annotated[int, Field(ge=1, le=65535)]
Positive = Annotated[int, Field(ge=1)]
PositiveSeconds = Annotated[float, Field(gt=0)]
# A comma-separated list in the environment (``a,b``), a sequence when passed in Python.
CommaSeparated = Annotated[tuple[str, ...], NoDecode]

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


class InvalidConfiguration(SystemExit):
    """Stops the process with one readable line instead of a traceback."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Path("data")
    database_url: str | None = None
    jwt_secret: SecretStr | None = None
    access_token_expire_minutes: Positive = 60

    celery_broker_url: str | None = None
    celery_result_backend: str | None = None

    smtp_host: str | None = None
    smtp_port: Port = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_timeout_seconds: Positive = 10
    email_sender: str = "noreply@localhost"
    welcome_email_subject: str = "회원가입을 환영합니다."
    digest_email_subject: str = "이번 주에 배운 것"
    # How often the digest scheduler looks for accounts whose Monday 08:00 has come
    # (Celery beat with a broker, a thread of each web process without one).
    digest_interval_seconds: PositiveSeconds = 60
    password_reset_email_subject: str = "비밀번호 재설정 안내"
    email_verification_email_subject: str = "이메일 주소를 확인해 주세요"
    password_changed_email_subject: str = "비밀번호가 변경되었습니다"
    # The outbox: first retry after EMAIL_RETRY_BASE_SECONDS, doubling up to
    # EMAIL_RETRY_MAX_SECONDS; the relay looks for due emails this often.
    email_retry_base_seconds: PositiveSeconds = 30
    email_retry_max_seconds: PositiveSeconds = 3600
    email_relay_interval_seconds: PositiveSeconds = 5
    # The relay deletes SENT outbox rows older than this many days (FAILED and PENDING rows stay).
    outbox_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30

    first_admin_email: str | None = None
    first_admin_password: SecretStr | None = None
    first_admin_name: str | None = None

    host: str = "127.0.0.1"
    port: Port = 8000
    # Where people reach the service; links (share URLs, emails) start with it. load_settings()
    # fills in http://HOST:PORT when it is unset; never ends with a slash.
    public_url: str | None = None
    # Threads that run the sync routes and dependencies (database work), per process.
    thread_pool_size: Positive = 8
    log_level: Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] = "INFO"

    login_max_failures: Positive = 5
    login_lockout_seconds: Positive = 900

    password_reset_token_minutes: Annotated[int, Field(ge=1, le=1440)] = 30
    email_verification_token_hours: Annotated[int, Field(ge=1, le=720)] = 48
    account_emails_per_hour: Annotated[int, Field(ge=1, le=100)] = 3
    require_verified_email: bool = False
    # The body limit of POST /notes/import (every other route keeps 1 MiB), and of what a zip unpacks to.
    import_max_bytes: Positive = 20 * 1024 * 1024

    # Browsers and proxies (SPEC §15, docs/browsers-and-proxies.md); empty: off.
    cors_origins: CommaSeparated = ()
    trusted_hosts: CommaSeparated = ()
    forwarded_allow_ips: CommaSeparated = ()

    @field_validator("cors_origins", "trusted_hosts", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        stripped = (item.strip() if isinstance(item, str) else item for item in items)
        return tuple(item for item in stripped if item != "")

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_origin(entry) for entry in value))

    @field_validator("trusted_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_trusted_host(entry) for entry in value))

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_proxy_address(entry) for entry in value))

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("smtp_security", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _sqlalchemy_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a SQLAlchemy URL, e.g. mysql+pymysql://USER:PASS@HOST:3306/DB?charset=utf8mb4"
            ) from None
        try:
            url.get_dialect().import_dbapi()
        except NoSuchModuleError:
            raise ValueError(f"unknown database or driver {url.drivername!r}; use sqlite or mysql+pymysql") from None
        except ImportError as error:
            raise ValueError(f"the driver of {url.drivername!r} is not installed ({error.name})") from None
        return value

    @field_validator("celery_broker_url", "celery_result_backend")
    @classmethod
    def _broker_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if not parts.scheme or "://" not in value:
            raise ValueError("not a URL, e.g. amqp://guest:guest@127.0.0.1:5672//")
        try:
            parts.port  # noqa: B018 - raises on a non-numeric port
        except ValueError:
            raise ValueError("the port of the URL is not a number") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("not an http(s) URL without query or fragment, e.g. https://til.example.com")
        try:
            parts.port  # noqa: B018 - raises on a non-numeric port
        except ValueError:
            raise ValueError("the port of the URL is not a number") from None
        if not parts.hostname or parts.username is not None:
            raise ValueError("the URL needs a host name and no user name, e.g. https://til.example.com")
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    @field_validator("email_sender")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and (value.count("@") != 1 or value.startswith("@") or value.endswith("@")):
            raise ValueError("not an email address")
        return value

    @field_validator("first_admin_email")
    @classmethod
    def _admin_address(cls, value: str | None) -> str | None:
        """Refused as signup refuses it: an account's address, so the same syntax and length."""
        if value is None:
            return None
        if len(value) > EMAIL_MAX_LENGTH:
            raise ValueError(f"must be at most {EMAIL_MAX_LENGTH} characters")
        try:
            return normalize_email(value.strip())
        except NotAnEmailAddress as error:
            raise ValueError(f"not a valid email address: {error}") from None

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_JWT_SECRET_BYTES} bytes; generate one with: {GENERATE_SECRET}")
        return value

    @field_validator("first_admin_password")
    @classmethod
    def _admin_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _account_rule(check_password, value.get_secret_value())
        return value

    @field_validator("first_admin_name")
    @classmethod
    def _admin_name(cls, value: str | None) -> str | None:
        if value is not None:
            _account_rule(check_name, value)
        return value

    @model_validator(mode="after")
    def _admin_complete(self) -> "Settings":
        if self.first_admin_email and self.first_admin_password is None:
            raise ValueError("FIRST_ADMIN_PASSWORD: must be set when FIRST_ADMIN_EMAIL is")
        if self.first_admin_password and self.first_admin_email is None:
            raise ValueError("FIRST_ADMIN_EMAIL: must be set when FIRST_ADMIN_PASSWORD is")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The configured database URL, or the embedded SQLite file."""
        return self.database_url or f"sqlite:///{self.data_dir / 'til.db'}"

    @property
    def secret_key(self) -> str:
        assert self.jwt_secret is not None, "load_settings() fills jwt_secret"
        return self.jwt_secret.get_secret_value()


def _account_rule(check: Callable[[str], str], value: str) -> None:
    """The user app's own rule for the first admin's name or password, as a settings error."""
    try:
        check(value)
    except InvalidUserInput as error:
        raise ValueError(error.message) from None


def _origin(entry: str) -> str:
    """``scheme://host[:port]`` as a browser sends it in ``Origin``: lower case, no default port."""
    example = "e.g. https://app.example.com or http://localhost:5173"
    if "*" in entry:
        raise ValueError(f"{entry!r}: list each origin, no wildcard ({example})")
    parts = urlsplit(entry)
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname or "://" not in entry:
        raise ValueError(f"{entry!r} is not an origin ({example})")
    if parts.path or parts.query or parts.fragment or entry.endswith(("?", "#")):
        raise ValueError(f"{entry!r}: an origin has no path, query or fragment ({example})")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{entry!r}: an origin has no user name or password ({example})")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{entry!r}: the port is not a number from 1 to 65535") from None
    scheme = parts.scheme.lower()
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _trusted_host(entry: str) -> str:
    """A host name (``*.example.com`` for its subdomains), an IPv4 address or a bracketed IPv6 one; no port."""
    host = entry.lower()
    if host.startswith("[") and host.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            pass
    elif _HOST_NAME.fullmatch(host):
        return host
    raise ValueError(
        f"{entry!r} is not a host name: give names only, no scheme or port (api.example.com, *.example.com, [::1])"
    )


def _proxy_address(entry: str) -> str:
    """An IP address or network (``10.0.0.0/8``): a proxy whose ``X-Forwarded-For`` is believed."""
    try:
        return str(ipaddress.ip_network(entry, strict=False) if "/" in entry else ipaddress.ip_address(entry))
    except ValueError:
        raise ValueError(
            f"{entry!r} is not an IP address or network (10.0.0.5, 10.0.0.0/8); "
            "list the proxies: with * any client could choose the address the log shows"
        ) from None


def load_settings(**overrides: object) -> Settings:
    """Read the settings, or stop the process with one line naming the culprit."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise InvalidConfiguration(_describe(error)) from None
    if settings.jwt_secret is None:
        secret = _read_or_create_secret(settings.data_dir / JWT_SECRET_FILE)
        settings = settings.model_copy(update={"jwt_secret": SecretStr(secret)})
    if settings.public_url is None:
        settings = settings.model_copy(update={"public_url": _served_url(settings.host, settings.port)})
    return settings


def _served_url(host: str, port: int) -> str:
    """``http://HOST:PORT``, the default ``PUBLIC_URL`` (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    if first["loc"]:
        message = f"{str(first['loc'][0]).upper()}: {message}"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"configuration error: {message}{more}"


def _read_or_create_secret(path: Path) -> str:
    """A random key kept on disk so tokens survive a restart, in a file only its
    owner can read (0600; DATA_DIR is created 0700).

    Several processes may start at once: the file appears atomically
    (write a temporary file, then hard-link it into place) and the loser of
    the race reads the winner's key.
    """
    if not path.exists():
        path.parent.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        # Created 0600, never readable by others even for a moment.
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "w") as key_file:
            key_file.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    secret = path.read_text().strip()
    if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
        raise InvalidConfiguration(
            f"configuration error: JWT_SECRET: the key in {path} is shorter than {MIN_JWT_SECRET_BYTES} bytes"
        )
    return secret
