"""The empty start of a first run: requests and time with and without the jump over it.

``python -m benchmarks.empty_prefix [--latency 0.15]``

One emulator (default data, seed 1; ``--base-latency``: every call pays it),
read by both variants one after the other: the tap with no ``start_date`` and
no state (every stream from 1970), all streams, default settings, in this process:

- walk: the plain window walk (``EndorStream.skip_empty_prefix`` set False, the
  only way to run it: the jump has no setting, on purpose);
- jump: as shipped (``tap_endorlabs/empty_prefix.py``).

Prints a Markdown table: requests (by resource), reconciliations, wall time,
and whether the records (in order) and the final state are the same.  Not a
test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import collections
import time
from typing import Any

from tap_endorlabs.client import EndorStream
from tests.support.servers import start_emulator
from tests.test_tap.tap_runner import TapRun, run_tap_in_process, stats, tap_config


def run_variant(jump: bool, url: str) -> tuple[TapRun, dict[str, int], float]:
    """One run of the tap: the run, requests per resource, seconds."""
    EndorStream.skip_empty_prefix = jump
    before = stats(url)["by_path"]
    began = time.monotonic()
    run = run_tap_in_process(tap_config(url, start_date=None))
    seconds = time.monotonic() - began
    after = stats(url)["by_path"]
    per: collections.Counter[str] = collections.Counter()
    for path, count in after.items():
        resource = path.split("/v1/namespaces/acme/")[-1] if "/namespaces/" in path else "auth"
        per[resource] += count - before.get(path, 0)
    return run, dict(per), seconds


def same_output(a: TapRun, b: TapRun) -> bool:
    """The same records of every data stream, in the same order, and the same final state."""
    streams = (set(a.records) | set(b.records)) - {"reconciliations"}
    return all(a.uuids(s) == b.uuids(s) for s in streams) and a.final_state == b.final_state


def main() -> None:
    """Run both variants and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every call takes")
    args = parser.parse_args()
    with start_emulator("--seed", "1", "--base-latency", str(args.latency)) as server:
        runs: dict[bool, Any] = {jump: run_variant(jump, server.url) for jump in (False, True)}
    resources = sorted(set(runs[False][1]) | set(runs[True][1]))
    print(f"latency {args.latency} s a request, no start_date, default emulator data (seed 1)\n")
    print("| tap | requests | " + " | ".join(resources) + " | reconciliations | seconds |")
    print("|---|---:|" + "---:|" * len(resources) + "---:|---:|")
    for jump in (False, True):
        run, per, seconds = runs[jump]
        cells = " | ".join(str(per.get(r, 0)) for r in resources)
        name = "jump" if jump else "walk"
        total = sum(per.values())
        recs = len(run.records["reconciliations"])
        print(f"| {name} | {total} | {cells} | {recs} | {seconds:.1f} |")
    print(f"\nsame records, order and final state: {same_output(runs[False][0], runs[True][0])}")


if __name__ == "__main__":
    main()
