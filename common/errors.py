"""The small, framework-free error hierarchy every app builds on.

Apps subclass these in their ``domain/errors.py``; the application layer
raises them; one handler in ``middlewares/error_handlers.py`` turns them
into HTTP responses. Nothing here knows a status code.
"""


class AppError(Exception):
    """Base of every error the service reports to a client on purpose."""

    message = "Application error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.message
        super().__init__(self.message)


class NotFound(AppError):
    message = "Not found"


class Conflict(AppError):
    message = "Conflict"


class BadRequest(AppError):
    """A well-formed request the service cannot act on (an unknown or expired one-time token)."""

    message = "Bad request"


class Unauthenticated(AppError):
    message = "Could not validate credentials"


class Forbidden(AppError):
    message = "Not allowed"


class PreconditionFailed(AppError):
    message = "Precondition failed"


class Throttled(AppError):
    message = "Too many attempts"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class InvalidInput(AppError):
    """``location``: where in the request body the bad value is (``("notes", 7, "title")``); empty: the body."""

    message = "Invalid input"

    def __init__(self, message: str | None = None, *, location: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.location = location


class TooLarge(AppError):
    """What the request asks for is past a size limit (an archive that unpacks too far, too many notes)."""

    message = "Too large"


class UnsupportedMediaType(AppError):
    message = "Unsupported media type"


class DependencyUnavailable(AppError):
    message = "A dependency is unavailable"
