"""Errors of the user app, each a subclass of the shared hierarchy."""

from common.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound, Throttled, Unauthenticated


class InvalidUserInput(InvalidInput):
    pass


class UserNotFound(NotFound):
    message = "User not found"


class EmailAlreadyRegistered(Conflict):
    message = "Email already registered"


class InvalidCredentials(Unauthenticated):
    message = "Incorrect email or password"


class InvalidToken(Unauthenticated):
    message = "Could not validate credentials"


class NotAllowed(Forbidden):
    message = "Not allowed"


class WrongCurrentPassword(Forbidden):
    message = "current_password is missing or wrong"


class LoginThrottled(Throttled):
    message = "Too many failed logins; try again later"


class InvalidAccountToken(BadRequest):
    """One body for an unknown, used, expired or superseded reset or verification token."""

    message = "Invalid or expired token"


class EmailAlreadyVerified(Conflict):
    message = "Email address already verified"


class EmailNotVerified(Forbidden):
    message = "Verify your email address first"


class AccountEmailsThrottled(Throttled):
    message = "Too many emails requested for this address; try again later"


class LoginTokenRequired(Forbidden):
    message = "This needs a login token"


class PersonalTokenNotFound(NotFound):
    message = "Token not found"


class PersonalTokenLimitReached(Conflict):
    message = "At most 50 personal access tokens per account: delete one first"


class UserWriteConflict(Conflict):
    """Concurrent writes kept aborting this one (the database broke deadlocks); trying again later works."""

    message = "The account could not be changed because of concurrent changes; try again"
