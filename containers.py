"""The composition root: the one place that names every concrete class."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Celery
from dependency_injector import containers, providers
from pydantic import SecretStr

from common.async_probe import AsyncProbe
from common.clock import SystemClock
from common.ulid_ids import UlidIdGenerator
from config import InvalidConfiguration, Settings, load_settings
from database.engine import FailFast, build_engine, build_loop_engine, build_session_factory
from database.health import SqlAlchemyDatabaseProbe
from mail.application.outbox_service import OutboxService
from mail.application.ports import QueuedEmail
from mail.domain.outbox_email import DeliveryPolicy, EmailKind
from mail.infra.celery_app import CeleryEmailPublisher, build_celery_app, celery_configuration
from mail.infra.kombu_broker_probe import KombuBrokerProbe
from mail.infra.log_sender import LogEmailSender
from mail.infra.periodic_thread import PeriodicThread
from mail.infra.repository import SqlAlchemyOutbox
from mail.infra.smtp_sender import DEADLINE_FACTOR, SmtpEmailSender
from mail.infra.template_renderer import TemplateEmailRenderer
from mail.infra.thread_pool_handoff import ThreadPoolEmailHandoff
from mail.infra.unit_of_work import SqlAlchemyMailUnitOfWork
from note.application.digest_service import DigestService
from note.application.note_service import NoteService
from note.application.portability_service import PortabilityService
from note.application.remembering_service import RememberingService
from note.application.share_service import ShareService
from note.infra.celery_tasks import PLAN_DIGESTS_TASK
from note.infra.fsrs_review_scheduler import FsrsReviewScheduler
from note.infra.share_token_cipher import AesGcmShareTokenCipher
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from user.application.access_service import AccessService
from user.application.account_emails import AccountEmails
from user.application.account_service import AccountService
from user.application.user_service import UserService
from user.domain.account_token import AccountTokenPolicy
from user.domain.login_throttle import LoginThrottlePolicy
from user.infra.argon2_password_hasher import Argon2PasswordHasher
from user.infra.jose_token_issuer import JoseTokenIssuer
from user.infra.unit_of_work import SqlAlchemyUserUnitOfWork

# What a Celery worker imports to find its tasks, and wires for their dependencies.
WORKER_TASK_MODULES = ("mail.infra.celery_tasks", "note.infra.celery_tasks")
WORKER_WIRED_MODULES = ("mail.infra.task_dependencies", "note.infra.task_dependencies")
MIN_EMAIL_LEASE_SECONDS = 60
# No password-reset request answers sooner (no account enumeration by timing): well above the few
# milliseconds the request takes, so the two inserts an existing account costs more never show.
RESET_REQUEST_FLOOR = timedelta(milliseconds=40)


def _broker_mode(settings: Settings) -> str:
    """With a broker, emails go through Celery; without one, they are sent by the web process."""
    return "celery" if settings.celery_broker_url else "in_process"


def _smtp_mode(settings: Settings) -> str:
    return "smtp" if settings.smtp_host else "log"


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def _worker_celery_config(
    *, broker_url: str, result_backend: str | None, digest_interval_seconds: float
) -> dict[str, Any]:
    """The mail app's Celery configuration, with beat's schedule: the digest planner every interval."""
    config = celery_configuration(broker_url=broker_url, result_backend=result_backend, include=WORKER_TASK_MODULES)
    config["beat_schedule"] = {
        "weekly-digest": {
            "task": PLAN_DIGESTS_TASK,
            "schedule": digest_interval_seconds,
            # A beat that was down publishes no backlog: one pass catches up on every missed week.
            "options": {"expires": digest_interval_seconds},
        }
    }
    return config


def _email_lease(smtp_timeout_seconds: int) -> timedelta:
    """How long a claim on an outbox email lasts: twice the longest send (the SMTP sender's deadline)."""
    return timedelta(seconds=max(MIN_EMAIL_LEASE_SECONDS, 2 * DEADLINE_FACTOR * smtp_timeout_seconds))


def _relay_pass(container: "Container") -> Callable[[], int]:
    """One periodic pass, each step with a fresh service and unit of work: relay the outbox
    (forward what is due, prune what is old), forget revocations of expired login tokens, then
    delete spent account tokens (password reset, email verification)."""

    def run() -> int:
        done = container.outbox_service().relay_pass()
        container.access_service().prune_revoked_tokens()
        container.account_service().purge_spent_tokens()
        return done

    return run


def _digest_pass(container: "Container") -> Callable[[], int]:
    """One digest pass in this process (no broker): every due account's digest, with fresh services."""
    return lambda: container.digest_service().run_pass()


def _forward(container: "Container") -> Callable[[QueuedEmail], object]:
    """Publish (broker) or deliver (no broker) one handed-off email, with a fresh service and unit of work."""
    return lambda email: container.outbox_service().forward(email)


class Container(containers.DeclarativeContainer):
    # Only the modules that hold Provide markers.
    wiring_config = containers.WiringConfiguration(
        modules=[
            "web.operations",
            "note.interface.dependencies",
            "note.interface.router",
            "user.interface.dependencies",
            "user.interface.router",
            "user.interface.pages",
        ]
    )

    __self__ = providers.Self()
    settings = providers.Dependency(instance_of=Settings)

    # Shared, stateless, built once. ThreadSafeSingleton, not Singleton: the request threads and the
    # periodic ones (email relay, digest) may ask for one at the same moment at start, and a plain
    # Singleton then builds two (two engines, two pools; tests/e2e/test_hot_path.py caught it).
    # One server, one fail-fast window, whichever of its two pools found it gone (database/engine.py).
    fail_fast = providers.ThreadSafeSingleton(FailFast)
    engine = providers.ThreadSafeSingleton(build_engine, settings.provided.sqlalchemy_url, fail_fast=fail_fast)
    # MariaDB/MySQL only (else None): the engine of the routes run on the event loop (web/routing.py).
    loop_engine = providers.ThreadSafeSingleton(
        build_loop_engine, settings.provided.sqlalchemy_url, fail_fast=fail_fast
    )
    session_factory = providers.ThreadSafeSingleton(build_session_factory, engine)
    clock = providers.ThreadSafeSingleton(SystemClock)
    ids = providers.ThreadSafeSingleton(UlidIdGenerator)
    password_hasher = providers.ThreadSafeSingleton(Argon2PasswordHasher)
    token_issuer = providers.ThreadSafeSingleton(
        JoseTokenIssuer,
        secret=settings.provided.secret_key,
        lifetime=providers.Factory(timedelta, minutes=settings.provided.access_token_expire_minutes),
    )
    login_throttle_policy = providers.ThreadSafeSingleton(
        LoginThrottlePolicy,
        max_failures=settings.provided.login_max_failures,
        lockout=providers.Factory(timedelta, seconds=settings.provided.login_lockout_seconds),
    )
    share_token_cipher = providers.ThreadSafeSingleton(AesGcmShareTokenCipher, secret=settings.provided.secret_key)
    # Where share links (and email links) point: PUBLIC_URL, never with a trailing slash.
    public_url = providers.Callable(lambda settings: settings.public_url, settings)
    # GET /health awaits these: each runs its blocking probe on a thread of its own, never a request's.
    database_probe = providers.ThreadSafeSingleton(
        AsyncProbe, providers.ThreadSafeSingleton(SqlAlchemyDatabaseProbe, engine)
    )
    account_token_policy = providers.ThreadSafeSingleton(
        AccountTokenPolicy,
        reset_lifetime=providers.Factory(timedelta, minutes=settings.provided.password_reset_token_minutes),
        verification_lifetime=providers.Factory(timedelta, hours=settings.provided.email_verification_token_hours),
        emails_per_hour=settings.provided.account_emails_per_hour,
    )
    account_emails = providers.ThreadSafeSingleton(
        AccountEmails, public_url=public_url, policy=account_token_policy, ids=ids
    )
    broker_probe = providers.Selector(
        providers.Callable(_broker_mode, settings),
        celery=providers.ThreadSafeSingleton(
            AsyncProbe, providers.ThreadSafeSingleton(KombuBrokerProbe, settings.provided.celery_broker_url)
        ),
        in_process=providers.Object(None),
    )
    email_policy = providers.ThreadSafeSingleton(
        DeliveryPolicy,
        lease=providers.Callable(_email_lease, settings.provided.smtp_timeout_seconds),
        retry_base=providers.Factory(timedelta, seconds=settings.provided.email_retry_base_seconds),
        retry_max=providers.Factory(timedelta, seconds=settings.provided.email_retry_max_seconds),
    )
    email_renderer = providers.ThreadSafeSingleton(
        TemplateEmailRenderer,
        subjects=providers.Dict(
            {
                EmailKind.WELCOME: settings.provided.welcome_email_subject,
                EmailKind.DIGEST: settings.provided.digest_email_subject,
                EmailKind.PASSWORD_RESET: settings.provided.password_reset_email_subject,
                EmailKind.EMAIL_VERIFICATION: settings.provided.email_verification_email_subject,
                EmailKind.PASSWORD_CHANGED: settings.provided.password_changed_email_subject,
            }
        ),
    )
    email_sender = providers.Selector(
        providers.Callable(_smtp_mode, settings),
        smtp=providers.ThreadSafeSingleton(
            SmtpEmailSender,
            host=settings.provided.smtp_host,
            port=settings.provided.smtp_port,
            sender=settings.provided.email_sender,
            security=settings.provided.smtp_security,
            username=settings.provided.smtp_username,
            password=providers.Callable(_secret, settings.provided.smtp_password),
            timeout=settings.provided.smtp_timeout_seconds,
        ),
        log=providers.ThreadSafeSingleton(LogEmailSender, sender=settings.provided.email_sender),
    )
    # A worker overrides this with its own app (worker_container).
    celery_app = providers.ThreadSafeSingleton(
        build_celery_app,
        broker_url=settings.provided.celery_broker_url,
        result_backend=settings.provided.celery_result_backend,
    )
    celery_config = providers.Callable(
        _worker_celery_config,
        broker_url=settings.provided.celery_broker_url,
        result_backend=settings.provided.celery_result_backend,
        digest_interval_seconds=settings.provided.digest_interval_seconds,
    )
    email_publisher = providers.Selector(
        providers.Callable(_broker_mode, settings),
        celery=providers.ThreadSafeSingleton(CeleryEmailPublisher, celery_app),
        in_process=providers.Object(None),
    )
    # What a use case hands its committed emails to: two threads of the web process's own,
    # which publish them (broker) or deliver them (no broker), so that neither a slow SMTP
    # server nor a hanging broker ever holds the threads that serve requests.
    email_handoff = providers.ThreadSafeSingleton(
        ThreadPoolEmailHandoff, forward=providers.Callable(_forward, __self__)
    )
    # The mail app's Outbox on another unit of work's session: called with that session.
    outbox = providers.Factory(SqlAlchemyOutbox, ids=ids, policy=email_policy)

    # Per use: a fresh unit of work (and so a fresh session) every time.
    user_uow = providers.Factory(SqlAlchemyUserUnitOfWork, session_factory=session_factory, outbox=outbox.provider)
    mail_uow = providers.Factory(SqlAlchemyMailUnitOfWork, session_factory=session_factory)
    note_uow = providers.Factory(
        SqlAlchemyNoteUnitOfWork,
        session_factory=session_factory,
        ids=ids,
        share_cipher=share_token_cipher,
        outbox=outbox.provider,
    )
    note_service = providers.Factory(NoteService, uow=note_uow, clock=clock, ids=ids)
    review_scheduler = providers.ThreadSafeSingleton(FsrsReviewScheduler)
    remembering_service = providers.Factory(RememberingService, uow=note_uow, scheduler=review_scheduler, clock=clock)
    digest_service = providers.Factory(DigestService, uow=note_uow, clock=clock, emails=email_handoff)
    portability_service = providers.Factory(PortabilityService, uow=note_uow, clock=clock, ids=ids)
    import_max_bytes = providers.Callable(lambda settings: settings.import_max_bytes, settings)
    share_service = providers.Factory(ShareService, uow=note_uow, clock=clock)
    user_service = providers.Factory(
        UserService,
        uow=user_uow,
        hasher=password_hasher,
        tokens=token_issuer,
        clock=clock,
        ids=ids,
        throttle_policy=login_throttle_policy,
        emails=email_handoff,
        account_emails=account_emails,
    )
    account_service = providers.Factory(
        AccountService,
        uow=user_uow,
        hasher=password_hasher,
        clock=clock,
        account_emails=account_emails,
        emails=email_handoff,
        reset_request_floor=providers.Object(RESET_REQUEST_FLOOR),
    )
    access_service = providers.Factory(
        AccessService,
        uow=user_uow,
        tokens=token_issuer,
        clock=clock,
        ids=ids,
        require_verified_email=settings.provided.require_verified_email,
    )
    outbox_service = providers.Factory(
        OutboxService,
        uow=mail_uow,
        sender=email_sender,
        renderer=email_renderer,
        publisher=email_publisher,
        clock=clock,
        ids=ids,
        policy=email_policy,
        retention=providers.Factory(timedelta, days=settings.provided.outbox_retention_days),
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
    # The weekly digest's scheduler: a thread of each web process without a broker; Celery beat with one.
    web_digest_scheduler = providers.Selector(
        providers.Callable(_broker_mode, settings),
        in_process=providers.Factory(
            PeriodicThread,
            name="digest-scheduler",
            interval=settings.provided.digest_interval_seconds,
            action=providers.Callable(_digest_pass, __self__),
        ),
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
