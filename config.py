"""Settings: read once at start from the environment and ``.env``.

Every variable is optional. A bad value stops the start with one line that
names the variable (``load_settings`` raises ``SystemExit`` with it), never
a traceback. Only ``main.py``, ``containers.py`` and ``migrations/env.py``
call ``load_settings``; everything else receives plain values.
"""

import os
import secrets
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from user.domain.user import NAME_MAX_LENGTH, NAME_MIN_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

MIN_JWT_SECRET_BYTES = 32
GENERATE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
JWT_SECRET_FILE = "jwt_secret"

Port = Annotated[int, Field(ge=1, le=65535)]
Positive = Annotated[int, Field(ge=1)]
PositiveSeconds = Annotated[float, Field(gt=0)]


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
    # Threads that run the sync routes and dependencies (database work), per process.
    thread_pool_size: Positive = 8
    log_level: Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] = "INFO"

    login_max_failures: Positive = 5
    login_lockout_seconds: Positive = 900

    # Links in emails start with PUBLIC_URL (default: http://HOST:PORT).
    public_url: str | None = None
    password_reset_token_minutes: Annotated[int, Field(ge=1, le=1440)] = 30
    email_verification_token_hours: Annotated[int, Field(ge=1, le=720)] = 48
    account_emails_per_hour: Annotated[int, Field(ge=1, le=100)] = 3
    require_verified_email: bool = False

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
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("not an http(s) base URL, e.g. https://til.example.com")
        try:
            parts.port  # noqa: B018 - raises on a non-numeric port
        except ValueError:
            raise ValueError("the port of the URL is not a number") from None
        return value.rstrip("/")

    @field_validator("email_sender", "first_admin_email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and (value.count("@") != 1 or value.startswith("@") or value.endswith("@")):
            raise ValueError("not an email address")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_JWT_SECRET_BYTES} bytes; generate one with: {GENERATE_SECRET}")
        return value

    @field_validator("first_admin_password")
    @classmethod
    def _admin_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not PASSWORD_MIN_LENGTH <= len(value.get_secret_value()) <= PASSWORD_MAX_LENGTH:
            raise ValueError(f"must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters")
        return value

    @field_validator("first_admin_name")
    @classmethod
    def _admin_name(cls, value: str | None) -> str | None:
        if value is not None and not NAME_MIN_LENGTH <= len(value) <= NAME_MAX_LENGTH:
            raise ValueError(f"must be {NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters")
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
    def base_url(self) -> str:
        """``PUBLIC_URL``, or where ``python main.py`` listens; never with a trailing slash."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def secret_key(self) -> str:
        assert self.jwt_secret is not None, "load_settings() fills jwt_secret"
        return self.jwt_secret.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read the settings, or stop the process with one line naming the culprit."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise InvalidConfiguration(_describe(error)) from None
    if settings.jwt_secret is None:
        secret = _read_or_create_secret(settings.data_dir / JWT_SECRET_FILE)
        settings = settings.model_copy(update={"jwt_secret": SecretStr(secret)})
    return settings


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    if first["loc"]:
        message = f"{str(first['loc'][0]).upper()}: {message}"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"configuration error: {message}{more}"


def _read_or_create_secret(path: Path) -> str:
    """A random key kept on disk so tokens survive a restart.

    Several processes may start at once: the file appears atomically
    (write a temporary file, then hard-link it into place) and the loser of
    the race reads the winner's key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(secrets.token_urlsafe(48))
        temporary.chmod(0o600)
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
