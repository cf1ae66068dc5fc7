"""S3: the writer (only PutObject), endpoints, and what a run wrote (summary, manifest)."""
