"""What the welcome email says and how it is put together (templates, MIME), without a server."""

from mail.application.ports import OutgoingEmail
from mail.domain.outbox_email import EmailKind
from mail.infra.smtp_sender import build_message
from mail.infra.template_renderer import TemplateEmailRenderer


def test_the_templates_greet_by_name_and_escape_it_in_html() -> None:
    renderer = TemplateEmailRenderer(subjects={EmailKind.WELCOME: "회원가입을 환영합니다."})

    rendered = renderer.render(kind=EmailKind.WELCOME, payload={"name": "<Rita> & 한글 😀"})

    assert rendered.subject == "회원가입을 환영합니다."
    assert "<Rita> & 한글 😀" in rendered.text
    assert "&lt;Rita&gt; &amp; 한글 😀" in rendered.html
    assert "<Rita>" not in rendered.html


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
