"""Secrets at rest: marketplace access tokens and webhook signing secrets.

A Fernet key is derived from SECRET_KEY (SHA-256), so any string of at least 32
characters works and rotating SECRET_KEY makes old ciphertexts unreadable.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from marketsync.errors import SecretUnreadableError


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as error:
            raise SecretUnreadableError("not encrypted with SECRET_KEY") from error

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"
