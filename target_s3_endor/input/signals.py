"""Fields a tap sends the target that are not Endor Labs' data: read here, never exported.

``scan_context.last`` tells the target that a scan's findings are complete (its
object can be written); it says something about this run, not about the finding, so
no object in any format carries it.  The rest of ``scan_context`` is documented
context (the scan a finding was reported by) and is exported.  Every sink takes its
records through ``exported_record`` before encoding them.
"""

from __future__ import annotations

from typing import Any

# (object, field) pairs a tap adds as signals to the target.
SIGNAL_FIELDS = (("scan_context", "last"),)


def exported_record(record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The record as exported (signals removed) and whether it was its scan's last finding.

    The caller's dict is not changed: only a record that carries a signal is copied.
    """
    context = record.get("scan_context")
    if not isinstance(context, dict) or "last" not in context:
        return record, False
    last = context["last"] is True
    return {**record, "scan_context": {k: v for k, v in context.items() if k != "last"}}, last
