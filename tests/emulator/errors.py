"""The API's error shape: one exception type carrying the HTTP status and gRPC code.

Every refusal the emulator makes goes through ``ApiError`` so that all of them
share the gRPC-gateway body ``{"code", "message", "details"}`` that clients parse.
"""

from __future__ import annotations

import json

# gRPC status codes the Endor Labs API uses, with the HTTP status the gateway maps them to.
INVALID_ARGUMENT = (3, 400)
DEADLINE_EXCEEDED = (4, 504)
NOT_FOUND = (5, 404)
PERMISSION_DENIED = (7, 403)
RESOURCE_EXHAUSTED = (8, 429)
UNIMPLEMENTED = (12, 405)
INTERNAL = (13, 500)
UNAVAILABLE = (14, 503)
UNAUTHENTICATED = (16, 401)


class ApiError(Exception):
    """A request the API refuses; rendered as a gRPC-gateway error body."""

    def __init__(
        self,
        kind: tuple[int, int],
        message: str,
        headers: dict[str, str | list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.status = kind
        self.message = message
        self.headers = headers or {}

    def body(self) -> bytes:
        """The JSON body the gateway sends for this error."""
        return json.dumps({"code": self.code, "message": self.message, "details": []}).encode()


def invalid(message: str) -> ApiError:
    """A 400 (code 3) for input the API cannot accept."""
    return ApiError(INVALID_ARGUMENT, message)
