"""Errors of the mail app. None reaches a client: a signup never fails because of its email."""

from common.errors import DependencyUnavailable


class EmailDeliveryFailed(DependencyUnavailable):
    """The SMTP server did not take the email.

    ``permanent``: it refused it for good (a 5xx reply, an address it cannot
    take without SMTPUTF8); trying again would only be refused again.
    Otherwise (a 4xx reply, no connection, a timeout) it is worth retrying.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class EmailPublishFailed(DependencyUnavailable):
    """The email could not be handed to the broker; the outbox keeps it for the relay."""
