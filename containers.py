"""The composition root: the one place that names every concrete class."""

from collections.abc import Callable
from datetime import timedelta

from celery import Celery
from dependency_injector import containers, providers
from pydantic import SecretStr

from common.clock import SystemClock
from common.messaging import KombuBrokerProbe, build_celery_app, celery_configuration
from common.periodic import PeriodicThread
from common.ulid_ids import UlidIdGenerator
from config import InvalidConfiguration, Settings, load_settings
from database.engine import build_engine, build_session_factory
from database.health import SqlAlchemyDatabaseProbe
from note.application.note_service import NoteService
from note.application.share_service import ShareService
from note.infra.share_token_cipher import AesGcmShareTokenCipher
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from user.application.email_outbox_service import EmailOutboxService
from user.application.ports import QueuedEmail
from user.application.user_service import UserService
from user.domain.login_throttle import LoginThrottlePolicy
from user.domain.outbox_email import DeliveryPolicy, EmailKind
from user.infra.argon2_password_hasher import Argon2PasswordHasher
from user.infra.celery_email_dispatcher import CeleryEmailDispatcher
from user.infra.jose_token_issuer import JoseTokenIssuer
from user.infra.log_email_sender import LogEmailSender
from user.infra.smtp_email_sender import DEADLINE_FACTOR, SmtpEmailSender
from user.infra.template_email_renderer import TemplateEmailRenderer
from user.infra.thread_pool_email_dispatcher import ThreadPoolEmailDispatcher
from user.infra.unit_of_work import SqlAlchemyUserUnitOfWork

# What a Celery worker imports to find its tasks, and wires for their dependencies.
WORKER_TASK_MODULES = ("user.infra.celery_tasks",)
WORKER_WIRED_MODULES = ("user.infra.task_dependencies",)
MIN_EMAIL_LEASE_SECONDS = 60


def _broker_mode(settings: Settings) -> str:
    """With a broker, emails go through Celery; without one, they are sent by the web process."""
    return "celery" if settings.celery_broker_url else "in_process"


def _smtp_mode(settings: Settings) -> str:
    return "smtp" if settings.smtp_host else "log"


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def _email_lease(smtp_timeout_seconds: int) -> timedelta:
    """How long a claim on an outbox email lasts: twice the longest send (the SMTP sender's deadline)."""
    return timedelta(seconds=max(MIN_EMAIL_LEASE_SECONDS, 2 * DEADLINE_FACTOR * smtp_timeout_seconds))


def _relay_pass(container: "Container") -> Callable[[], int]:
    """One relay pass, with a fresh service and unit of work."""
    return lambda: container.email_outbox_service().relay()


def _dispatch(container: "Container") -> Callable[[QueuedEmail], object]:
    """Publish (broker) or send (no broker) one email, with a fresh service and unit of work."""
    return lambda email: container.email_outbox_service().dispatch(email)


class Container(containers.DeclarativeContainer):
    # Only the modules that hold Provide markers.
    wiring_config = containers.WiringConfiguration(
        modules=[
            "common.operations",
            "note.interface.dependencies",
            "note.interface.router",
            "user.interface.dependencies",
            "user.interface.router",
        ]
    )

    __self__ = providers.Self()
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
    share_token_cipher = providers.Singleton(AesGcmShareTokenCipher, secret=settings.provided.secret_key)
    # Where share links (and email links) point: PUBLIC_URL, never with a trailing slash.
    public_url = providers.Callable(lambda settings: settings.public_url, settings)
    database_probe = providers.Singleton(SqlAlchemyDatabaseProbe, engine)
    broker_probe = providers.Selector(
        providers.Callable(_broker_mode, settings),
        celery=providers.Singleton(KombuBrokerProbe, settings.provided.celery_broker_url),
        in_process=providers.Object(None),
    )
    email_policy = providers.Singleton(
        DeliveryPolicy,
        lease=providers.Callable(_email_lease, settings.provided.smtp_timeout_seconds),
        retry_base=providers.Factory(timedelta, seconds=settings.provided.email_retry_base_seconds),
        retry_max=providers.Factory(timedelta, seconds=settings.provided.email_retry_max_seconds),
    )
    email_renderer = providers.Singleton(
        TemplateEmailRenderer, subjects=providers.Dict({EmailKind.WELCOME: settings.provided.welcome_email_subject})
    )
    email_sender = providers.Selector(
        providers.Callable(_smtp_mode, settings),
        smtp=providers.Singleton(
            SmtpEmailSender,
            host=settings.provided.smtp_host,
            port=settings.provided.smtp_port,
            sender=settings.provided.email_sender,
            security=settings.provided.smtp_security,
            username=settings.provided.smtp_username,
            password=providers.Callable(_secret, settings.provided.smtp_password),
            timeout=settings.provided.smtp_timeout_seconds,
        ),
        log=providers.Singleton(LogEmailSender, sender=settings.provided.email_sender),
    )
    # A worker overrides this with its own app (worker_container).
    celery_app = providers.Singleton(
        build_celery_app,
        broker_url=settings.provided.celery_broker_url,
        result_backend=settings.provided.celery_result_backend,
    )
    celery_config = providers.Callable(
        celery_configuration,
        broker_url=settings.provided.celery_broker_url,
        result_backend=settings.provided.celery_result_backend,
        include=WORKER_TASK_MODULES,
    )
    email_dispatcher = providers.Selector(
        providers.Callable(_broker_mode, settings),
        celery=providers.Singleton(CeleryEmailDispatcher, celery_app),
        in_process=providers.Object(None),
    )
    # What a signup hands its welcome email to: two threads of the web process's own,
    # which publish it (broker) or send it (no broker), so that neither a slow SMTP
    # server nor a hanging broker ever holds the threads that serve requests.
    email_handoff = providers.Singleton(ThreadPoolEmailDispatcher, deliver=providers.Callable(_dispatch, __self__))

    # Per use: a fresh unit of work (and so a fresh session) every time.
    user_uow = providers.Factory(SqlAlchemyUserUnitOfWork, session_factory=session_factory)
    note_uow = providers.Factory(
        SqlAlchemyNoteUnitOfWork, session_factory=session_factory, ids=ids, share_cipher=share_token_cipher
    )
    note_service = providers.Factory(NoteService, uow=note_uow, clock=clock, ids=ids)
    share_service = providers.Factory(ShareService, uow=note_uow, clock=clock)
    user_service = providers.Factory(
        UserService,
        uow=user_uow,
        hasher=password_hasher,
        tokens=token_issuer,
        clock=clock,
        ids=ids,
        throttle_policy=login_throttle_policy,
        email_policy=email_policy,
    )
    email_outbox_service = providers.Factory(
        EmailOutboxService,
        uow=user_uow,
        sender=email_sender,
        renderer=email_renderer,
        dispatcher=email_dispatcher,
        clock=clock,
        ids=ids,
        policy=email_policy,
    )
    # The outbox relay: in the workers with a broker, in the web process without one.
    email_relay = providers.Factory(
        PeriodicThread,
        name="email-relay",
        interval=settings.provided.email_relay_interval_seconds,
        action=providers.Callable(_relay_pass, __self__),
    )
    web_email_relay = providers.Selector(
        providers.Callable(_broker_mode, settings),
        in_process=email_relay,
        celery=providers.Object(None),
    )


def worker_container(app: Celery) -> Container:
    """The composition root of a Celery worker (``common/messaging.py``): the
    settings from the environment, and ``app`` as the worker's broker client."""
    settings = load_settings()
    if settings.celery_broker_url is None:
        raise InvalidConfiguration("configuration error: CELERY_BROKER_URL: must be set to run a worker")
    container = Container(settings=settings)
    container.celery_app.override(providers.Object(app))
    container.wire(modules=list(WORKER_WIRED_MODULES))
    return container
