"""The Endor Labs tap: settings, streams, and one-line fatal errors on the CLI."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_endorlabs.auth import EndorAuthenticator
from tap_endorlabs.errors import FatalTapError, one_line, redact
from tap_endorlabs.settings import (
    CONFIG_SCHEMA,
    ENDORCTL_ENV,
    SECRET_SETTINGS,
    check_settings,
    endorctl_env_fallbacks,
)
from tap_endorlabs.streams import STREAM_TYPES


class TapEndorLabs(Tap):
    """Singer tap for the Endor Labs API (audit logs, scans, findings, projects)."""

    name = "tap-endorlabs"
    package_name = "endorlabs-s3-export"
    config_jsonschema: ClassVar[dict] = CONFIG_SCHEMA
    # msgspec encodes RECORD messages several times faster than the json module.
    message_writer_class = MsgSpecWriter

    def __init__(self, *, config: dict | Any = None, **kwargs: Any) -> None:
        if config is None or isinstance(config, dict):
            config = {**endorctl_env_fallbacks(), **(config or {})}
        super().__init__(config=config, **kwargs)
        check_settings(self.config)
        self._authenticator: EndorAuthenticator | None = None

    @property
    def authenticator(self) -> EndorAuthenticator:
        """The one token holder every stream shares (created on first use)."""
        if self._authenticator is None:
            self._authenticator = EndorAuthenticator(
                api_url=str(self.config.get("api_url", "https://api.endorlabs.com")),
                api_key=self.config.get("api_key"),
                api_secret=self.config.get("api_secret"),
                token=self.config.get("token"),
                timeout=float(self.config.get("request_timeout", 60)),
            )
        return self._authenticator

    @override
    def discover_streams(self) -> list[Stream]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @classmethod
    @override
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the CLI; fatal problems become one line on stderr and exit code 1."""
        config_input = kwargs.get("config")
        secrets = _secret_values(getattr(config_input, "config", None) or {})
        try:
            super().invoke(*args, **kwargs)
        except FatalTapError as exc:
            _exit_with(str(exc), secrets)
        except ConfigValidationError as exc:
            problems = "; ".join(str(error) for error in exc.errors) or str(exc)
            _exit_with(f"Invalid configuration: {problems}", secrets)


def _secret_values(config: dict[str, Any]) -> list[str]:
    """Every secret the user may have given, to scrub from error text."""
    import os  # noqa: PLC0415

    values = [str(config.get(name) or "") for name in SECRET_SETTINGS]
    values += [os.environ.get(ENDORCTL_ENV[name], "") for name in SECRET_SETTINGS]
    prefix = TapEndorLabs.name.upper().replace("-", "_")
    values += [os.environ.get(f"{prefix}_{name.upper()}", "") for name in SECRET_SETTINGS]
    return [value for value in values if value]


def _exit_with(message: str, secrets: Iterable[str]) -> None:
    """Print one scrubbed line on stderr and exit 1."""
    sys.stderr.write(f"tap-endorlabs: error: {one_line(redact(message, secrets))}\n")
    sys.stderr.flush()
    sys.exit(1)
