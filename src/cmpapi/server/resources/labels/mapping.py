"""Label rows to wire models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# cmpapi has no related organizations: every group is the caller organization's own.
CURRENT = "current"


def label_group(row: Any, values: Sequence[Any]) -> dict[str, Any]:
    """listLabelGroups' item as plain data (``page_response`` checks it), from a
    ``service.LIST_COLUMNS`` row (or a LabelGroup) and its values in order."""
    return {
        "id": row.id,
        "name": row.name,
        "source_org_type": CURRENT,
        "values": [{"id": v.id, "name": v.name} for v in values],
    }


def resource_label(
    group_id: str, group_name: str, values: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """A label an object carries (the spec's ``ResourceLabelResponse``, as plain data: its
    answers validate or check it): its group and the chosen ``(id, name)`` values."""
    return {
        "group": {"id": group_id, "name": group_name},
        "values": [{"id": i, "name": n} for i, n in values],
    }
