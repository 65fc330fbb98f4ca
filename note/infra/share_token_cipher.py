"""Share tokens at rest: AES-256-GCM under a key derived from the service's secret.

The owner may ask for a note's link again (``GET /notes/{id}/share``), so the
token cannot be kept as a hash alone. The database keeps its SHA-256 (to find
the share) and this sealed copy; neither opens anything without the secret.
The token's hash is the associated data, so a sealed token moved to another
row does not open. A token sealed under another secret (``JWT_SECRET``
rotated) does not open either: its link is void, like every login token.
"""

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
KEY_PURPOSE = b"til-notes share tokens v1"


class AesGcmShareTokenCipher:
    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_PURPOSE).derive(secret.encode())
        self._aead = AESGCM(key)

    def seal(self, token: str, *, token_hash: str) -> str:
        """The token encrypted, URL-safe base64 of nonce + ciphertext + tag (96 characters for a 43-character token)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, token.encode(), token_hash.encode())
        return base64.urlsafe_b64encode(sealed).decode("ascii")

    def open(self, sealed: str, *, token_hash: str) -> str | None:
        """The token, or ``None`` when ``sealed`` was not sealed by this key for this hash."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], token_hash.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            return None
