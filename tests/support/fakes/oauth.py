"""The token side of the Etsy and Amazon fakes: refresh-token exchanges that count."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field


@dataclass
class Grants:
    """Refresh tokens the fake accepts, and the access tokens it issued."""

    refresh_tokens: set[str]
    expires_in: float = 3600
    rotate: bool = False  # answer a new refresh token (and retire the old one)
    prefix: str = ""
    issued: dict[str, float] = field(default_factory=dict)  # access token → expiry (epoch)

    def exchange(self, refresh_token: str) -> dict[str, object] | None:
        if refresh_token not in self.refresh_tokens:
            return None
        access = self.prefix + secrets.token_urlsafe(16)
        self.issued[access] = time.time() + self.expires_in
        answer: dict[str, object] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.expires_in,
        }
        if self.rotate:
            new = "rt-" + secrets.token_urlsafe(12)
            self.refresh_tokens.discard(refresh_token)
            self.refresh_tokens.add(new)
            answer["refresh_token"] = new
        else:
            answer["refresh_token"] = refresh_token
        return answer

    def accepts(self, access_token: str) -> bool:
        return self.issued.get(access_token, 0) > time.time()

    def expire_all(self) -> None:
        """Every issued access token stops working (the caches still hold them)."""
        self.issued.clear()
