"""Benchmarks for tap-endorlabs and target-s3-endor (issue 7): ``python -m benchmarks.run``."""
