"""Secrets at rest: marketplace access tokens, webhook signing secrets, cached tokens.

Each purpose has its own Fernet key, derived from SECRET_KEY with HKDF-SHA256 (a fixed
salt, an ``info`` per purpose), so a ciphertext of one purpose never decrypts as another.
A ``SecretBox`` encrypts under the current key and decrypts with, in order:

1. the current key,
2. the same purpose's key derived from each of SECRET_KEY_FALLBACKS (earlier keys),
3. the legacy key of each of those (a bare SHA-256 of the SECRET_KEY, which every
   purpose shared before HKDF), so that upgrading loses nothing.

``rotate`` re-encrypts a ciphertext under the current key (``marketsync rotate-secrets``).
Any failure to decrypt is an ``UnreadableSecretError``: callers never see cryptography's
own exceptions, and no message carries the ciphertext or the plaintext.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from enum import StrEnum

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from marketsync.errors import UnreadableSecretError

_SALT = b"marketsync secret-key salt v1"


class Purpose(StrEnum):
    """What a key encrypts; its value is the HKDF ``info`` (a label, not a secret)."""

    STORE_TOKEN = "marketsync store-token v1"  # noqa: S105
    WEBHOOK_SECRET = "marketsync webhook-secret v1"  # noqa: S105
    TOKEN_CACHE = "marketsync token-cache v1"  # noqa: S105


def derive_key(secret_key: str, purpose: Purpose) -> bytes:
    """The urlsafe-base64 Fernet key of ``purpose`` under ``secret_key``."""
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=_SALT, info=purpose.value.encode())
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def legacy_key(secret_key: str) -> bytes:
    """The key of the first scheme: SHA-256 of SECRET_KEY, one key for every purpose."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest())


class SecretBox:
    """Encrypts one purpose's secrets under the current key; reads earlier keys' too."""

    def __init__(self, secret_key: str, purpose: Purpose, *, fallbacks: Sequence[str] = ()) -> None:
        keys = [secret_key, *fallbacks]
        self.purpose = purpose
        self._current = Fernet(derive_key(secret_key, purpose))
        self._all = MultiFernet(
            [self._current]
            + [Fernet(derive_key(key, purpose)) for key in fallbacks]
            + [Fernet(legacy_key(key)) for key in keys]
        )

    def encrypt(self, plaintext: str) -> str:
        return self._current.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._all.decrypt(token.encode()).decode()
        except (InvalidToken, UnicodeError, TypeError, ValueError) as error:
            raise self._unreadable() from error

    def is_current(self, token: str) -> bool:
        """True when ``token`` is already under the current key (rotation would change nothing)."""
        try:
            self._current.decrypt(token.encode())
        except (InvalidToken, UnicodeError, TypeError, ValueError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the current key (its Fernet timestamp kept)."""
        try:
            return self._all.rotate(token.encode()).decode()
        except (InvalidToken, UnicodeError, TypeError, ValueError) as error:
            raise self._unreadable() from error

    def _unreadable(self) -> UnreadableSecretError:
        return UnreadableSecretError(
            f"a {self.purpose.name.lower()} secret cannot be decrypted with SECRET_KEY "
            "or SECRET_KEY_FALLBACKS"
        )

    def __repr__(self) -> str:
        return f"SecretBox({self.purpose.name}, <hidden>)"


class Vault:
    """One ``SecretBox`` per purpose, all from the same SECRET_KEY and fallbacks."""

    def __init__(self, secret_key: str, *, fallbacks: Sequence[str] = ()) -> None:
        self.store_tokens = SecretBox(secret_key, Purpose.STORE_TOKEN, fallbacks=fallbacks)
        self.webhook_secrets = SecretBox(secret_key, Purpose.WEBHOOK_SECRET, fallbacks=fallbacks)
        self.token_cache = SecretBox(secret_key, Purpose.TOKEN_CACHE, fallbacks=fallbacks)

    def __repr__(self) -> str:
        return "Vault(<hidden>)"
