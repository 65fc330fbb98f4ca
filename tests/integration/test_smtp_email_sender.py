"""``SmtpEmailSender`` against a real SMTP server (aiosmtpd, in this process):
plain, STARTTLS and implicit TLS, with a login, and what a failure reports."""

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mail.application.ports import OutgoingEmail
from mail.domain.errors import EmailDeliveryFailed
from mail.infra.smtp_sender import SmtpEmailSender
from tests.support.email import SmtpSink, smtp_sink
from tests.support.ports import free_port

# Implicit TLS: aiosmtpd cannot tell that the whole session is encrypted and warns about AUTH without TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

SENDER = "noreply@til.test"
LOGIN, SMTP_PASSWORD = "mailer", "smtp-password-that-must-never-be-logged"
EMAIL = OutgoingEmail(id="01JSMTPTEST", recipient="dexter@example.com", subject="환영", text="hi", html="<p>hi</p>")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "cert.pem", folder / "key.pem"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    valid = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        LOGIN.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=valid, handled=False)


@pytest.fixture
def tls_server(certificate: tuple[Path, Path], request: pytest.FixtureRequest) -> Iterator[SmtpSink]:
    """A sink that wants a login over TLS: STARTTLS, or implicit TLS (``ssl``)."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*certificate)
    sink = SmtpSink()
    if request.param == "starttls":
        options = {"tls_context": server_context, "require_starttls": True, "auth_require_tls": True}
    else:
        options = {"ssl_context": server_context, "auth_require_tls": False}  # the whole session is TLS
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=sink.port,
        authenticator=authenticate,
        auth_required=True,
        auth_exclude_mechanism=["LOGIN"],  # PLAIN only: a refused login then answers 535 at once
        **options,
    )
    controller.start()
    yield sink
    controller.stop()


def sender(*, port: int, certificate: tuple[Path, Path], **options: Any) -> SmtpEmailSender:
    return SmtpEmailSender(
        host="127.0.0.1",
        port=port,
        sender=SENDER,
        timeout=5,
        tls_context=ssl.create_default_context(cafile=str(certificate[0])),
        **options,
    )


@pytest.mark.parametrize("tls_server", ["starttls", "ssl"], indirect=True)
def test_a_login_over_tls_delivers(
    tls_server: SmtpSink, certificate: tuple[Path, Path], request: pytest.FixtureRequest
) -> None:
    security = request.node.callspec.params["tls_server"]

    sender(
        port=tls_server.port, certificate=certificate, security=security, username=LOGIN, password=SMTP_PASSWORD
    ).send(EMAIL)

    [delivered] = tls_server.delivered()
    assert delivered.envelope_to == ("dexter@example.com",)
    assert delivered.message["From"] == SENDER
    assert delivered.message["Message-ID"] == "<01JSMTPTEST@til.test>"


@pytest.mark.parametrize("tls_server", ["starttls"], indirect=True)
def test_a_refused_login_is_a_failure_that_names_the_reply_not_the_password(
    tls_server: SmtpSink, certificate: tuple[Path, Path]
) -> None:
    wrong = sender(port=tls_server.port, certificate=certificate, security="starttls", username=LOGIN, password="nope")

    with pytest.raises(EmailDeliveryFailed) as failure:
        wrong.send(EMAIL)

    assert "535" in str(failure.value)
    assert "nope" not in str(failure.value)
    assert tls_server.delivered() == []


@pytest.mark.parametrize("tls_server", ["starttls"], indirect=True)
def test_an_untrusted_certificate_is_refused(tls_server: SmtpSink) -> None:
    trusting_the_system_only = SmtpEmailSender(
        host="127.0.0.1", port=tls_server.port, sender=SENDER, security="starttls", timeout=5
    )

    with pytest.raises(EmailDeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
        trusting_the_system_only.send(EMAIL)


def test_plain_smtp_without_login_delivers() -> None:
    with smtp_sink() as sink:
        SmtpEmailSender(host="127.0.0.1", port=sink.port, sender=SENDER, timeout=5).send(EMAIL)

        [delivered] = sink.delivered()
    assert delivered.part("text/plain").strip() == "hi"
    assert delivered.part("text/html").strip() == "<p>hi</p>"


def test_a_server_that_is_down_is_a_failure() -> None:
    closed = SmtpEmailSender(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=5)

    with pytest.raises(EmailDeliveryFailed, match="Connection refused"):
        closed.send(EMAIL)
