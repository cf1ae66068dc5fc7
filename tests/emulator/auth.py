"""API-key exchange and bearer tokens that expire on the emulator's clock.

Expiry follows the emulator clock (not wall time), so ``/_emulator/advance``
can age a token past its lifetime without a test waiting hours.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from dataclasses import dataclass

from tests.emulator.clock import MICROS, Clock, format_us
from tests.emulator.errors import UNAUTHENTICATED, ApiError, invalid


@dataclass
class _Token:
    expires_us: int
    generation: int


class Tokens:
    """Issues tokens for the one accepted key pair and checks them on each call."""

    def __init__(
        self,
        key: str,
        secret: str,
        ttl_seconds: float,
        clock: Clock,
        expiry_field: str = "expirationTime",
    ) -> None:
        self._key = key
        # Endor's clients read ``expirationTime``; the OpenAPI file names ``expiration_time``.
        self._expiry_field = expiry_field
        self._secret = secret
        self._ttl_us = int(ttl_seconds * MICROS)
        self._clock = clock
        self._tokens: dict[str, _Token] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def exchange(self, body: bytes) -> dict[str, str]:
        """``POST /v1/auth/api-key``: a token for ``{"key", "secret"}``, or 401."""
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            raise invalid("request body is not valid JSON") from None
        if not isinstance(request, dict):
            raise invalid("request body must be a JSON object with key and secret")
        key, secret = request.get("key"), request.get("secret")
        if not isinstance(key, str) or not isinstance(secret, str):
            raise ApiError(UNAUTHENTICATED, "invalid API key credentials")
        valid_key = hmac.compare_digest(key.encode(), self._key.encode())
        valid_secret = hmac.compare_digest(secret.encode(), self._secret.encode())
        if not (valid_key and valid_secret):
            raise ApiError(UNAUTHENTICATED, "invalid API key credentials")
        token = secrets.token_urlsafe(32)
        expires = self._clock.now_us() + self._ttl_us
        with self._lock:
            self._tokens[token] = _Token(expires, self._generation)
        return {"token": token, self._expiry_field: format_us(expires)}

    def check(self, authorization: str | None) -> str:
        """The bearer token of a request, if it is known and unexpired; else 401."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiError(UNAUTHENTICATED, "missing bearer token")
        token = authorization[7:].strip()
        with self._lock:
            entry = self._tokens.get(token)
            generation = self._generation
        if entry is None:
            raise ApiError(UNAUTHENTICATED, "invalid token")
        if entry.generation != generation or self._clock.now_us() >= entry.expires_us:
            raise ApiError(UNAUTHENTICATED, "token expired")
        return token

    def expire_all(self) -> int:
        """Make every token issued so far answer 401; returns how many there were."""
        with self._lock:
            self._generation += 1
            return len(self._tokens)
