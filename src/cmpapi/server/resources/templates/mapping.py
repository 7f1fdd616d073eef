"""Template rows -> wire models."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.templates.tables import Template
from cmpapi.wire import TemplateResponse


def template_item(t: Any, links: Links) -> dict[str, Any]:
    """listTemplates' item (no form fields) as plain data (``page_response`` checks it),
    from a ``service.LIST_COLUMNS`` row or a Template."""
    return {
        "id": t.id,
        "title": t.title,
        "description": t.description,
        "is_active": t.is_active,
        "applicable_to": list(t.applicable_to),
        "links": {"self": links.to("getTemplate", template_id=t.id)},
    }


def template_response(t: Template, links: Links) -> TemplateResponse:
    """getTemplate: the template with its form fields in form order (``template_item``
    with them, validated)."""
    return TemplateResponse.model_validate(
        {**template_item(t, links), "form_fields": t.form_fields}
    )
