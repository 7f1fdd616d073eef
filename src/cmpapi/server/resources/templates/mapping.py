"""Template rows -> wire models."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.templates.tables import Template
from cmpapi.wire import TemplateListResponseDataItem, TemplateResponse


def _base(t: Template, links: Links) -> dict[str, Any]:
    return {
        "id": t.id,
        "title": t.title,
        "description": t.description,
        "is_active": t.is_active,
        "applicable_to": list(t.applicable_to),
        "links": {"self": links.to("getTemplate", template_id=t.id)},
    }


def template_item(t: Template, links: Links) -> TemplateListResponseDataItem:
    """listTemplates items (no form fields)."""
    return TemplateListResponseDataItem.model_validate(_base(t, links))


def template_response(t: Template, links: Links) -> TemplateResponse:
    """getTemplate: the template with its form fields in form order."""
    return TemplateResponse.model_validate({**_base(t, links), "form_fields": t.form_fields})
