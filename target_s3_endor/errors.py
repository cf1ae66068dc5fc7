"""Errors the target reports as one plain line, without a traceback.

Each error's text is written for the person running the pipeline: it names the
setting, record or permission involved and what to do about it, and never holds
a secret.  ``TargetS3Endor.invoke`` turns any of them into a single log line and
exit status 1, so a failed upload can never be followed by a STATE line.
"""

from __future__ import annotations

import errno
import tempfile

from singer_sdk.exceptions import MissingKeyPropertiesError, RecordsWithoutSchemaException


class TargetS3EndorError(Exception):
    """Base class: an expected failure with a message meant for the operator."""


class SettingsError(TargetS3EndorError):
    """A setting is missing, contradicts another one or cannot be used."""


class BadInputError(TargetS3EndorError):
    """A Singer message the target cannot accept (malformed, out of order, invalid)."""


class RecordBeforeSchemaError(BadInputError, RecordsWithoutSchemaException):
    """Records (RECORD or BATCH) for a stream whose SCHEMA has not come.

    Also singer-sdk's ``RecordsWithoutSchemaException``, which its standard target tests
    (and any caller that knows the SDK) expect; the line is the target's own.
    """


class MissingKeyError(BadInputError, MissingKeyPropertiesError):
    """A record without one of its stream's key properties (also singer-sdk's error)."""


class UploadError(TargetS3EndorError):
    """An object could not be written to S3 even after the bounded retries."""


class CredentialsError(TargetS3EndorError):
    """AWS credentials could not be obtained (role trust, token file, profile)."""


# The command line's own lines (connector_common/cli.py prints them).
STATE_UNREAD = (
    "standard output was closed (broken pipe), so the state could not be handed back: "
    "what was written is in S3; the next run resumes from the last state received"
)
STDOUT_CLOSED = (
    "standard output is closed: the target hands back its state there; "
    "run it with stdout open, for example target-s3-endor --config target.json > state.json"
)


# A spool or output file that cannot grow: the disk (or quota) is full, or the
# process may write no larger file (RLIMIT_FSIZE, as `ulimit -f` sets it).
NO_ROOM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def no_room_line(exc: OSError, spool_dir: str | None) -> str:
    """The one line for a spool that could not be written, naming where it was."""
    where = spool_dir or f"{tempfile.gettempdir()} (the system temporary directory)"
    return (
        f"the batch spool in {where} has no room to grow ({exc.strerror}): free space "
        "there or set spool_dir to a larger disk (it needs about batch_max_bytes per open "
        "batch); records not yet in S3 get no state, so the next run writes them"
    )
