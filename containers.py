"""The composition root: the one place that names every concrete class."""

from datetime import timedelta

from dependency_injector import containers, providers

from common.clock import SystemClock
from common.ulid_ids import UlidIdGenerator
from config import Settings
from database.engine import build_engine, build_session_factory
from database.health import SqlAlchemyDatabaseProbe
from user.application.user_service import UserService
from user.domain.login_throttle import LoginThrottlePolicy
from user.infra.argon2_password_hasher import Argon2PasswordHasher
from user.infra.jose_token_issuer import JoseTokenIssuer
from user.infra.unit_of_work import SqlAlchemyUserUnitOfWork


class Container(containers.DeclarativeContainer):
    # Only the modules that hold Provide markers.
    wiring_config = containers.WiringConfiguration(
        modules=[
            "common.operations",
            "user.interface.dependencies",
            "user.interface.router",
        ]
    )

    settings = providers.Dependency(instance_of=Settings)

    # Shared, stateless, built once.
    engine = providers.Singleton(build_engine, settings.provided.sqlalchemy_url)
    session_factory = providers.Singleton(build_session_factory, engine)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UlidIdGenerator)
    password_hasher = providers.Singleton(Argon2PasswordHasher)
    token_issuer = providers.Singleton(
        JoseTokenIssuer,
        secret=settings.provided.secret_key,
        lifetime=providers.Factory(timedelta, minutes=settings.provided.access_token_expire_minutes),
    )
    login_throttle_policy = providers.Singleton(
        LoginThrottlePolicy,
        max_failures=settings.provided.login_max_failures,
        lockout=providers.Factory(timedelta, seconds=settings.provided.login_lockout_seconds),
    )
    database_probe = providers.Singleton(SqlAlchemyDatabaseProbe, engine)
    broker_probe = providers.Object(None)

    # Per use: a fresh unit of work (and so a fresh session) every time.
    user_uow = providers.Factory(SqlAlchemyUserUnitOfWork, session_factory=session_factory)
    user_service = providers.Factory(
        UserService,
        uow=user_uow,
        hasher=password_hasher,
        tokens=token_issuer,
        clock=clock,
        ids=ids,
        throttle_policy=login_throttle_policy,
    )
