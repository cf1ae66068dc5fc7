"""Timestamps compared as instants, whatever their width or offset."""

from __future__ import annotations

from datetime import UTC, datetime


def normalized(value: str) -> datetime:
    """Parse RFC 3339 (``Z`` or offset, any fraction width) to aware UTC."""
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
