"""What the welcome email says and how it is put together (templates, MIME), without a server."""

from mail.application.ports import OutgoingEmail
from mail.domain.outbox_email import EmailKind
from mail.infra.smtp_sender import build_message
from mail.infra.template_renderer import TemplateEmailRenderer


def test_the_templates_greet_by_name_and_escape_it_in_html() -> None:
    renderer = TemplateEmailRenderer(subjects={EmailKind.WELCOME: "회원가입을 환영합니다."})

    link = "https://til.test/verify-email?token=abc-_1"
    payload = {"name": "<Rita> & 한글 😀", "hours": "48", "secret_link": link, "secret_token": "abc-_1"}
    rendered = renderer.render(kind=EmailKind.WELCOME, payload=payload)

    assert rendered.subject == "회원가입을 환영합니다."
    assert "<Rita> & 한글 😀" in rendered.text
    assert "&lt;Rita&gt; &amp; 한글 😀" in rendered.html
    assert "<Rita>" not in rendered.html
    assert link in rendered.text
    assert f'href="{link}"' in rendered.html
    assert '"token": "abc-_1"' in rendered.text  # and the token itself, for API clients


def test_every_account_email_greets_by_name_escaped_and_carries_what_it_needs() -> None:
    subjects = {kind: kind.value for kind in EmailKind}
    renderer = TemplateEmailRenderer(subjects=subjects)
    secrets = {"secret_link": "https://til.test/x?token=T0k3n", "secret_token": "T0k3n"}
    cases = {
        EmailKind.PASSWORD_RESET: ({"minutes": "30", **secrets}, ["https://til.test/x?token=T0k3n", "T0k3n", "30"]),
        EmailKind.EMAIL_VERIFICATION: ({"hours": "48", **secrets}, ["https://til.test/x?token=T0k3n", "T0k3n", "48"]),
        EmailKind.PASSWORD_CHANGED: ({"reset_api": "https://til.test/users/password-reset"}, ["/users/password-reset"]),
    }
    for kind, (payload, expected) in cases.items():
        rendered = renderer.render(kind=kind, payload={"name": "<b>Rita</b>", **payload})
        assert rendered.subject == kind.value
        assert "<b>Rita</b>" in rendered.text, kind
        assert "&lt;b&gt;Rita&lt;/b&gt;" in rendered.html, kind
        for text in expected:
            assert text in rendered.text, (kind, text)
            assert text in rendered.html, (kind, text)


def test_the_message_is_text_with_an_html_alternative_and_a_stable_message_id() -> None:
    email = OutgoingEmail(
        id="01JABCDEF", recipient="dexter@example.com", subject="회원가입을 환영합니다.", text="hi", html="<p>hi</p>"
    )

    message = build_message(email, sender="noreply@til.example")

    assert message["From"] == "noreply@til.example"
    assert message["To"] == "dexter@example.com"
    assert message["Subject"] == "회원가입을 환영합니다."
    assert message["Message-ID"] == "<01JABCDEF@til.example>"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert build_message(email, sender="noreply@til.example")["Message-ID"] == message["Message-ID"]


def test_a_welcome_email_queued_before_it_carried_a_link_still_renders() -> None:
    """An email of an earlier release, pending at the upgrade: the placeholders it lacks render empty."""
    renderer = TemplateEmailRenderer(subjects={EmailKind.WELCOME: "회원가입을 환영합니다."})

    rendered = renderer.render(kind=EmailKind.WELCOME, payload={"name": "Rita"})

    assert "Rita" in rendered.text
    assert "${" not in rendered.text + rendered.html
