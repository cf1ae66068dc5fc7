"""The API's clock, read from its ``Date`` headers: what "now" means for the tap's windows.

Which audit-log store holds a record (active for 30 days, then the archive) is
decided by the API's clock, and so is whether a window can still receive
records.  Choosing them by the local clock lost records at the 30-day seam when
the two clocks were a day and a half apart (issue 19).  So every answer's
``Date`` moves this clock's offset, and the seam, the open last window and the
"at least" check all ask it.  A clock further off ours than the seam margin is
said once in one line: the tap still follows the API's, never silently ours.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tap_endorlabs.headers import http_date

#: Clocks further apart than this are said in one line (the seam margin: a day).
SKEW_WARNING = timedelta(days=1)
#: A Date further off than this is a broken header, not a clock (ignored).
MAX_BELIEVABLE_SKEW = timedelta(days=365)


class ApiClock:
    """Local time plus the offset the API's last usable ``Date`` showed (0 until one came)."""

    def __init__(
        self, logger: Any = None, local: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._local = local
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._warned = False
        self._logger = logger
        #: Whether any answer carried a usable Date yet.
        self.observed = False

    def observe(self, date_header: str | None) -> None:
        """Move the offset to what this answer's ``Date`` says (whole seconds, so +-1 s)."""
        moment = http_date(date_header)
        if moment is None:
            return
        local = self._local()
        offset = moment - local
        if abs(offset) > MAX_BELIEVABLE_SKEW:
            return
        with self._lock:
            # Date has whole seconds: keep the offset unless it moved by more than that.
            if not self.observed or abs(offset - self._offset) > timedelta(seconds=2):
                self._offset = offset
            self.observed = True
            warn = not self._warned and abs(offset) > SKEW_WARNING
            self._warned = self._warned or warn
        if warn and self._logger is not None:
            self._logger.warning("%s", skew_line(offset))

    @property
    def offset(self) -> timedelta:
        """The API's clock minus ours."""
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        """The API's current time (ours until an answer said otherwise)."""
        return self._local() + self.offset


def skew_line(offset: timedelta) -> str:
    """The one line that says the two clocks disagree by more than the seam margin."""
    hours = abs(offset.total_seconds()) / 3600
    side = "behind" if offset < timedelta(0) else "ahead of"
    return (
        f"The Endor Labs API's clock is {hours:.1f} h {side} this machine's (its Date header): "
        "the archive seam and the open window follow the API's clock; fix this machine's "
        "clock (NTP) if it is the one that is wrong."
    )
