"""Every layout by its ``layout`` setting's name: one line per layout.

The ``layout`` setting's allowed values are this registry's keys (settings/schema.py's
schema), and everything that differs by layout is looked up here (base.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from target_s3_endor.errors import SettingsError
from target_s3_endor.layouts import endor, security_lake
from target_s3_endor.layouts.base import Layout

LAYOUTS: Mapping[str, Layout] = {
    layout.name: layout for layout in (endor.LAYOUT, security_lake.LAYOUT)
}
DEFAULT_LAYOUT = endor.LAYOUT.name


def layout_of(config: Mapping[str, Any]) -> Layout:
    """The layout a configuration names (``endor`` when unset); a one-line error otherwise."""
    name = config.get("layout", DEFAULT_LAYOUT)
    layout = LAYOUTS.get(name) if isinstance(name, str) else None
    if layout is None:
        raise SettingsError(f"layout must be one of {', '.join(LAYOUTS)}")
    return layout
