"""Work request rows -> wire models."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.files import Signer as Sign
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.templates.service import value_fields
from cmpapi.server.resources.work_requests import events, values
from cmpapi.server.resources.work_requests.service import WorkRequestView
from cmpapi.server.resources.work_requests.tables import (
    WorkRequestFile,
)
from cmpapi.wire import (
    CreativeAssetResponse,
    WorkRequestRequestFormFieldUpdateResponse,
    WorkRequestResponse,
)

# related resource type -> the operation serving it
_RESOURCES = {"task": "getTask", "campaign": "getCampaign"}
# assignee type -> the operation serving it
_ASSIGNEES = {"user": "getUser", "team": "getTeam"}


def _file(row: Any, sign: Sign) -> dict[str, str]:
    return {"id": row.id, "name": row.name, "url": sign(row.storage_key, row.name, row.mime_type)}


def _file_view(view: WorkRequestView, sign: Sign) -> values.FileView:
    def file(file_id: str) -> dict[str, str] | None:
        row = view.files.get(file_id)
        return _file(row, sign) if row is not None else None

    return file


def form_field(view: WorkRequestView, spec: dict[str, Any], sign: Sign) -> dict[str, Any]:
    """One form field with its values, as the API answers it."""
    stored = view.row.form_values.get(spec["identifier"], [])
    return {
        "identifier": spec["identifier"],
        "type": spec["type"],
        "values": values.answered(spec, stored, _file_view(view, sign)),
    }


def work_request_response(view: WorkRequestView, links: Links, sign: Sign) -> WorkRequestResponse:
    """createWorkRequest, getWorkRequest, updateWorkRequest."""
    return WorkRequestResponse.model_validate(work_request_item(view, links, sign))


def work_request_item(view: WorkRequestView, links: Links, sign: Sign) -> dict[str, Any]:
    """A ``WorkRequestResponse`` as plain data (listWorkRequests: ``page_response`` checks
    it)."""
    wr, tpl = view.row, view.template
    refs = events.links_of(links, wr.id, list(events.SUB_LINKS))
    creator = wr.created_by or ""
    return {
        "id": wr.id,
        "reference_id": f"WRQ-{wr.number}",
        "status": wr.status,
        "priority": wr.priority,
        "template": {
            "id": tpl.id,
            "title": tpl.title,
            "links": {"self": links.to("getTemplate", template_id=tpl.id)},
        },
        "form_fields": [form_field(view, spec, sign) for spec in value_fields(tpl)],
        "assignees": [
            {**a, "links": {"self": links.to(_ASSIGNEES[a["type"]], id=a["id"])}}
            for a in view.assignees
        ],
        "created_by": {
            "id": creator,
            "links": {
                "self": links.to("getUser", id=creator) if creator else links.to("findUserByEmail")
            },
        },
        "created_at": timestamp(wr.created_at),
        "modified_at": timestamp(wr.modified_at),
        "links": refs,
    }


def form_field_update_response(
    view: WorkRequestView, spec: dict[str, Any], sign: Sign
) -> WorkRequestRequestFormFieldUpdateResponse:
    """updateWorkRequestFormField: the field's type and values."""
    answer = form_field(view, spec, sign)
    return WorkRequestRequestFormFieldUpdateResponse.model_validate(
        {"type": answer["type"], "values": answer["values"]}
    )


def creative_asset(row: WorkRequestFile, sign: Sign) -> CreativeAssetResponse:
    """createWorkRequestCreativeAsset."""
    return CreativeAssetResponse.model_validate(_file(row, sign))


def related_resource(row: Any, links: Links) -> dict[str, Any]:
    """listWorkRequestRelatedResources items as plain data (``page_response`` checks
    them), from ``service.RELATED_COLUMNS`` rows: the task or campaign, linked by its
    URL."""
    operation = _RESOURCES.get(row.resource_type)
    return {
        "id": row.resource_id,
        "resource_type": row.resource_type,
        "relation_type": row.relation_type,
        "created_at": timestamp(row.created_at),
        "links": {"self": links.to(operation, id=row.resource_id) if operation else None},
    }


def approved_asset(asset: Any, sign: Sign) -> dict[str, Any]:
    """listWorkRequestApprovedAssets items as plain data (``page_response`` checks them),
    from ``service.APPROVED_COLUMNS`` rows: an article's HTML, or a file's download URL."""
    if asset.type == "article" or asset.storage_key is None:
        content = {"type": "html_body", "value": asset.html_body or ""}
    else:
        extension = f".{asset.file_extension}" if asset.file_extension else ""
        name = asset.title if asset.title.endswith(extension) else asset.title + extension
        content = {"type": "url", "value": sign(asset.storage_key, name, asset.mime_type)}
    return {
        "id": asset.id,
        "title": asset.title,
        "type": asset.type,
        "mime_type": asset.mime_type,
        "content_type": content,
    }
