"""A local S3 endpoint: moto's server in this process, on a free port.

``python -m tests.local_s3 [--host H] [--port P] [--iam]`` prints
``LISTENING http://H:P`` once it accepts requests and serves until SIGTERM or
SIGINT.  ``--iam`` makes moto enforce IAM policies (for least-privilege tests):
requests must then be signed by a user whose policy allows them.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import re
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any


def _lighter_requests() -> None:
    """Take three per-request costs out of moto's server, answers unchanged.

    Its dispatcher asks ``moto.backends.list_of_moto_modules()`` on every request, which
    lists moto's package folder and stats each of its ~200 entries (a third of the
    server's CPU per S3 call, measured with py-spy); the folder does not change while the
    server runs, so it is read once.  werkzeug logs every request on stdout, which the
    test process reads and keeps (``tests/support/servers.py``): only warnings and errors
    are logged.  Its serializer parses every timestamp text again (``_times_parsed_once``).
    """
    import moto.backends
    import moto.core.serialize

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto.core.serialize.parse_to_aware_datetime = _times_parsed_once(  # type: ignore[attr-defined]
        moto.core.serialize.parse_to_aware_datetime  # type: ignore[attr-defined]
    )


# A whole RFC 3339 UTC time, as moto keeps an object's LastModified: parsed the same on
# any day (a partial one, such as a bare time, would take today's date from dateutil).
_WHOLE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z")


def _times_parsed_once(parse: Callable[[Any], datetime]) -> Callable[[Any], datetime]:
    """moto's serializer turns every timestamp it sends back into a datetime with dateutil
    (its stored LastModified is text): a third of a ListObjectsV2 answer's CPU.  Each whole
    time text is parsed once; datetimes are immutable, so the answers are the same."""
    parsed_text = functools.lru_cache(maxsize=65536)(parse)

    def parse_to_aware_datetime(value: Any) -> datetime:
        if isinstance(value, str) and _WHOLE_TIME.fullmatch(value):
            return parsed_text(value)
        return parse(value)

    return parse_to_aware_datetime


def main(argv: list[str] | None = None) -> None:
    """Run moto's threaded server until told to stop."""
    parser = argparse.ArgumentParser(prog="python -m tests.local_s3", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--iam",
        action="store_true",
        help="enforce IAM: only the first few set-up calls (creating users) run unauthenticated",
    )
    parser.add_argument(
        "--iam-setup-calls",
        type=int,
        default=50,
        help="with --iam: how many unauthenticated calls set-up may make first (default 50)",
    )
    options = parser.parse_args(argv)
    if options.iam:
        os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(options.iam_setup_calls)
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    _lighter_requests()

    server = ThreadedMotoServer(ip_address=options.host, port=options.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"LISTENING http://{host}:{port}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
