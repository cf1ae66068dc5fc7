"""``--verify``: check a bucket against the completeness proof the target wrote next to it.

Read-only (s3:ListBucket, s3:GetObject), streaming, with memory bounded by a
buffer and SQLite's page cache (see ``check.py`` for the passes).
"""

from target_s3_endor.verify.check import verify

__all__ = ["verify"]
