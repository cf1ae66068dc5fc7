"""An S3 object as a seekable file, read by ranged GETs.

Zip keeps its directory at the end and Parquet its footer: both readers seek.
Reading such an object through ranged ``GetObject`` requests (the same
permission as a whole GET) avoids holding or spooling the object; wrapped in
an ``io.BufferedReader`` each request fetches a buffer's worth.
"""

from __future__ import annotations

import io
from typing import Any


class RangedObject(io.RawIOBase):
    """Read-only, seekable view of one S3 object of known size."""

    def __init__(self, client: Any, bucket: str, key: str, size: int) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._size = size
        self._position = 0
        #: Bytes fetched so far (for the progress line).
        self.fetched = 0

    def readable(self) -> bool:
        """Always: a read-only view."""
        return True

    def seekable(self) -> bool:
        """Always: any range can be fetched."""
        return True

    def tell(self) -> int:
        """The current offset."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the offset (no request is made)."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def size(self) -> int:
        """The object's length (pyarrow asks file objects for it)."""
        return self._size

    def readinto(self, buffer: Any) -> int:
        """Fetch the next bytes with one ranged GET."""
        if self._position >= self._size or len(buffer) == 0:
            return 0
        last = min(self._size, self._position + len(buffer)) - 1
        response = self._client.get_object(
            Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-{last}"
        )
        data = response["Body"].read()
        buffer[: len(data)] = data
        self._position += len(data)
        self.fetched += len(data)
        return len(data)
