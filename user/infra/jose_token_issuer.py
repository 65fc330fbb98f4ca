"""HS256 access tokens with python-jose: algorithm pinned, ``exp``/``iat``/``sub`` required, and a ``jti``
that a logout revokes."""

from datetime import UTC, datetime, timedelta

from jose import JWTError, jwt

from user.application.ports import AccessToken, TokenClaims, TokenIssuer
from user.domain.errors import InvalidToken

ALGORITHM = "HS256"
VERSION_CLAIM = "ver"
MAX_TOKEN_ID_LENGTH = 64  # what revoked_tokens.jti holds
# Ours are under 250 bytes. Anything longer is refused before a byte of it is decoded.
MAX_TOKEN_BYTES = 4096
# Whatever a hostile token can make the decoder raise: bad base64 or JSON, a header or
# claims nested past the recursion limit, a number too large for a timestamp (``exp: 1e999``).
DECODING_FAILURES = (JWTError, ValueError, TypeError, AttributeError, RecursionError, OverflowError)


class JoseTokenIssuer(TokenIssuer):
    def __init__(self, *, secret: str, lifetime: timedelta) -> None:
        self._secret = secret
        self._lifetime = lifetime

    def issue(self, *, subject: str, version: int, token_id: str, now: datetime) -> AccessToken:
        claims = {
            "sub": subject,
            "jti": token_id,
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
            VERSION_CLAIM: version,
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return AccessToken(token=token, expires_in=int(self._lifetime.total_seconds()))

    def decode(self, token: str) -> TokenClaims:
        if len(token) > MAX_TOKEN_BYTES or not token.isascii():
            raise InvalidToken()
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require_exp": True, "require_iat": True, "require_sub": True},
            )
        except DECODING_FAILURES:
            raise InvalidToken() from None
        subject, version, token_id = claims.get("sub"), claims.get(VERSION_CLAIM), claims.get("jti")
        if not isinstance(subject, str) or not subject or type(version) is not int:
            raise InvalidToken()
        if not isinstance(token_id, str) or not 0 < len(token_id) <= MAX_TOKEN_ID_LENGTH:
            raise InvalidToken()  # a token without a jti could never be logged out
        return TokenClaims(subject=subject, version=version, token_id=token_id, expires_at=_expiry(claims["exp"]))


def _expiry(exp: object) -> datetime:
    """``exp`` as a datetime (jose checked it is in the future); one that no datetime holds is refused."""
    try:
        return datetime.fromtimestamp(int(exp), UTC)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidToken() from None
