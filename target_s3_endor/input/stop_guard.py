"""Stopping on SIGTERM/SIGINT without writing state for records that are not in S3.

The SDK's own handler drains every sink from inside the signal handler, which
can run in the middle of an upload: the nested drain then writes STATE while the
interrupted batch never reaches S3.  Here a signal that arrives while a message
(or a drain) is being handled only sets a flag; the target stops at the next
message boundary, where every sink is consistent.  A signal that arrives while
the target waits for input stops it at once.  Either way the records received so
far are written, the state for them is printed, and one line says what happened.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from typing_extensions import override

from target_s3_endor.errors import TargetS3EndorError
from target_s3_endor.input.fast_records import DirectRecordTarget


class GracefulStopTarget(DirectRecordTarget):
    """A target that turns a termination signal into a clean, state-consistent stop."""

    _busy_depth = 0
    _stop_signal: int | None = None
    _stopping = False

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        self._stop_signal = signum
        if self._busy_depth:
            self.logger.warning(
                "Received %s: stopping after the message being handled",
                signal.Signals(signum).name,
            )
            return
        self._stop_now()

    def _stop_now(self) -> None:
        """Write what has arrived, print its state, say so and exit ``128 + signal``."""
        if self._stopping or self._stop_signal is None:
            return
        self._stopping = True
        name = signal.Signals(self._stop_signal).name
        self.logger.warning("Received %s: writing the records received so far", name)
        try:
            self.write_waiting_objects()
            self.drain_all(is_endofpipe=True)
        except TargetS3EndorError as exc:
            self.logger.error(
                "Stopped by %s; the last records could not be written (%s) and no state was "
                "written for them: run again from the last state",
                name,
                " ".join(str(exc).split()),
            )
            sys.exit(1)
        self.logger.warning(
            "Stopped by %s: every record received is in S3 and its state was written", name
        )
        sys.exit(128 + self._stop_signal)

    def write_waiting_objects(self) -> None:
        """Write what waits for the end of the input (open scans); called before the last drain."""

    def _guarded(self, handler: Callable[[Any], None], message: Any) -> None:
        """Handle one message as a unit; if a signal came meanwhile, stop after it.

        A plain try/finally rather than a context manager: this runs for every record.
        """
        self._busy_depth += 1
        try:
            handler(message)
        finally:
            self._busy_depth -= 1
        if self._busy_depth == 0 and self._stop_signal is not None:
            self._stop_now()

    @override
    def _process_record_message(self, message_dict: dict) -> None:
        self._guarded(super()._process_record_message, message_dict)

    @override
    def _process_schema_message(self, message_dict: dict) -> None:
        self._guarded(super()._process_schema_message, message_dict)

    @override
    def _process_state_message(self, message_dict: dict) -> None:
        self._guarded(super()._process_state_message, message_dict)

    @override
    def _process_activate_version_message(self, message_dict: dict) -> None:
        self._guarded(super()._process_activate_version_message, message_dict)

    @override
    def _process_batch_message(self, message_dict: dict) -> None:
        self._guarded(super()._process_batch_message, message_dict)

    @override
    def process_endofpipe(self) -> None:
        self._guarded(lambda _: super(GracefulStopTarget, self).process_endofpipe(), None)
