"""Records to member bytes to object bytes: json, jsonl, sarif, ocsf, parquet; zip, gzip, none."""
