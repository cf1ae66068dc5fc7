"""The floors: what a user would write by hand in plain Python, to measure ours against.

``python -m benchmarks.floors target CONFIG < singer-file``
    Parse every line with the standard json module, write the records as JSON lines into
    one zip (deflate, zlib's default level) on disk, upload it once with boto3.

``python -m benchmarks.floors tap CONFIG > records``
    Exchange the API key for a token, then page the same list endpoints the tap pages
    (archived and active audit logs, sorted by ``meta.create_time``, paged by
    ``page_token``), with the same page size, in one query per endpoint instead of the
    tap's time windows, with a plain ``requests`` loop, and write each object as one
    JSON line (an extractor that wrote nothing would measure only the server).

CONFIG is a JSON file; see ``target_floor`` and ``tap_floor`` for its keys.
"""

from __future__ import annotations

import json
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, TextIO


def target_floor(config: dict[str, Any], lines: TextIO) -> int:
    """Zip the records of a Singer stream and upload the zip once; return the record count.

    Config keys: ``endpoint_url``, ``bucket``, ``key``, ``region``,
    ``aws_access_key_id``, ``aws_secret_access_key``.
    """
    import boto3

    count = 0
    loads, dumps = json.loads, json.dumps
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "records.zip"
        with (
            zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped,
            zipped.open("records.jsonl", "w", force_zip64=True) as member,
        ):
            for line in lines:
                message = loads(line)
                if message.get("type") == "RECORD":
                    member.write(dumps(message["record"]).encode())
                    member.write(b"\n")
                    count += 1
        client = boto3.client(
            "s3",
            endpoint_url=config["endpoint_url"],
            region_name=config["region"],
            aws_access_key_id=config["aws_access_key_id"],
            aws_secret_access_key=config["aws_secret_access_key"],
        )
        client.upload_file(str(archive), config["bucket"], config["key"])
    return count


def tap_floor(config: dict[str, Any], out: TextIO) -> int:
    """Page list queries with plain requests; return the object count.

    Config keys: ``api_url``, ``namespace``, ``api_key``, ``api_secret``, ``page_size``,
    ``queries`` (a list of ``{"path": "audit-logs/archived", "filter": "..."}``), optional
    ``sort_path`` (then pages by ``page_token``, as the API requires with a sort) .
    """
    import requests

    session = requests.Session()
    auth = session.post(
        f"{config['api_url']}/v1/auth/api-key",
        json={"key": config["api_key"], "secret": config["api_secret"]},
        timeout=60,
    )
    auth.raise_for_status()
    session.headers["Authorization"] = f"Bearer {auth.json()['token']}"
    sort_path = config.get("sort_path")
    cursor_name = "page_token" if sort_path else "page_id"
    count = 0
    dumps = json.dumps
    for query in config["queries"]:
        params: dict[str, Any] = {"list_parameters.page_size": config["page_size"]}
        if query.get("filter"):
            params["list_parameters.filter"] = query["filter"]
        if sort_path:
            params["list_parameters.sort.path"] = sort_path
        while True:
            response = session.get(
                f"{config['api_url']}/v1/namespaces/{config['namespace']}/{query['path']}",
                params=params,
                timeout=60,
            )
            response.raise_for_status()
            body = response.json()["list"]
            for obj in body.get("objects") or []:
                out.write(dumps(obj))
                out.write("\n")
                count += 1
            cursor = (body.get("response") or {}).get(f"next_{cursor_name}")
            if not cursor:
                break
            params[f"list_parameters.{cursor_name}"] = cursor
    return count


def main(argv: list[str] | None = None) -> int:
    """Run one floor; print its record count on stderr."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in {"target", "tap"}:
        print("usage: python -m benchmarks.floors target|tap CONFIG", file=sys.stderr)
        return 2
    config = json.loads(Path(args[1]).read_text(encoding="utf-8"))
    if args[0] == "target":
        count = target_floor(config, sys.stdin)
    else:
        count = tap_floor(config, sys.stdout)
    print(f"floor {args[0]}: {count} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
