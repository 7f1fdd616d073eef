"""getSettings and updateSettings: the organization's configuration as one document.

Import rules follow updateSettings' description in the spec (merge by name, see each
importer). Everything is checked before anything is written: the dry run (``execute``
false) and the real run walk the same code, and the real run commits once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.resources.publishing import channels
from cmpapi.server.resources.settings import custom_fields, importers, webhooks
from cmpapi.server.resources.templates import service as templates
from cmpapi.server.resources.workflows import service as workflows
from cmpapi.server.settings import Settings
from cmpapi.wire import SettingsResources

KINDS = ("labels", "custom_fields", "workflows", "webhooks", "apps", "templates", "routing_rules")


def get_settings(session: Session, principal: Principal) -> dict[str, Any]:
    """Every kind of setting, exported from what exists (JSON-ready ``resources``)."""
    require(principal, "settings:read")
    require(principal, "webhooks:read")  # the export holds webhook secrets: admins only
    org = principal.org_id
    return {
        "labels": importers.export_labels(session, org),
        "custom_fields": custom_fields.export(session, org),
        "workflows": workflows.export_workflows(session, org),
        "webhooks": webhooks.export(session, org),
        "apps": importers.export_apps(session, org),
        "templates": templates.export_templates(session, org),
        "routing_rules": templates.export_routing_rules(session, org),
    }


def update_settings(
    session: Session,
    principal: Principal,
    settings: Settings,
    body: SettingsResources,
    execute: bool,
    overwrite_workflows: bool,
) -> dict[str, dict[str, list[str]]]:
    """Import the document; returns the changeset ``{"create": {kind: [names]}, "update":
    ...}``. Without ``execute`` nothing is written."""
    require(principal, "settings:write")
    org = principal.org_id
    changes: dict[str, tuple[list[str], list[str]]] = {kind: ([], []) for kind in KINDS}
    changes["labels"] = importers.import_labels(session, org, body.labels, execute)
    changes["custom_fields"] = _import_custom_fields(session, org, body, execute)
    changes["workflows"] = workflows.import_workflows(
        session, org, body.workflows, execute=execute, overwrite=overwrite_workflows
    )
    # The workflows' default webhook channels are publishing channels of the organization.
    channels.merge_workflow_channels(session, org, body.workflows)
    changes["webhooks"] = webhooks.import_webhooks(session, org, body.webhooks, settings)
    changes["apps"] = importers.import_apps(session, org, principal.user_id, body.apps, execute)
    # After custom fields and labels: templates take their choices from them.
    changes["templates"] = templates.import_templates(session, org, body.templates, execute)
    changes["routing_rules"] = templates.import_routing_rules(
        session, org, body.routing_rules, [t.name for t in body.templates], execute
    )
    if execute:
        session.commit()
    else:
        session.rollback()
    return {
        "create": {kind: created for kind, (created, _) in changes.items()},
        "update": {kind: updated for kind, (_, updated) in changes.items()},
    }


def _import_custom_fields(
    session: Session, org_id: str, body: SettingsResources, execute: bool
) -> tuple[list[str], list[str]]:
    created: list[str] = []
    updated: list[str] = []
    for kind, item in custom_fields.items(body.custom_fields):
        action = custom_fields.import_one(session, org_id, kind, item, execute)
        (created if action == "create" else updated).append(item.label)
    return created, updated
