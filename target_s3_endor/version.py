"""The package's version, read from its installed metadata.

``pyproject.toml`` is the one place the version is written; the SDK reports it
for both plugins (``--version``, ``--about``) from the same metadata.
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "endorlabs-s3-export"


def package_version() -> str:
    """The installed distribution's version; 0.0.0 when run from an uninstalled tree."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0.0.0"
