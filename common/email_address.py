"""The one normalization of an email address, shared by signup, login, the login
throttle's key and (later) password reset: email-validator's, without DNS.

The normalized form is NFC, with the domain in Unicode, lower-cased and
IDNA-mapped (``user@ﬁ.example`` is ``user@fi.example``, ``xn--bcher-kva``
is ``bücher``), so every spelling of one address finds one account.
"""

from email_validator import EmailNotValidError, validate_email


class NotAnEmailAddress(ValueError):
    """The text is not an email address; the message says why."""


def normalize_email(address: str) -> str:
    """The normalized form of ``address``; ``NotAnEmailAddress`` if it is not one (``.test`` domains are fine)."""
    try:
        return validate_email(
            address, check_deliverability=False, globally_deliverable=False, test_environment=True
        ).normalized
    except EmailNotValidError as error:
        raise NotAnEmailAddress(str(error)) from None
