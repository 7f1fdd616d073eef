"""Settings import for labels, apps and workflows, by name as updateSettings documents.

Each ``import_*`` returns ``(created names, updated names)`` and writes only when
``execute`` is true, so the dry run and the real run share one code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import Invalid
from cmpapi.server.oauth import store
from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.resources.labels import service as labels
from cmpapi.server.resources.labels.tables import LabelGroup, LabelValue

Changes = tuple[list[str], list[str]]


def import_labels(session: Session, org_id: str, groups: Sequence[Any], execute: bool) -> Changes:
    """A group of the same name is updated (single-value flag; labels merged, colours of
    same-name labels overwritten); any other is created."""
    created: list[str] = []
    updated: list[str] = []
    repo = Repository(LabelGroup, session, org_id)
    for n, group in enumerate(groups):
        name = group.label_type.strip()
        if not name:
            raise Invalid("A label group needs a name", {f"labels.{n}.label_type": "Blank"})
        existing = repo.find(func.lower(LabelGroup.name) == name.lower())
        (created if existing is None else updated).append(name)
        if not execute:
            continue
        if existing is None:
            existing = labels.create_label_group(
                session,
                org_id,
                name,
                [v.name for v in group.labels],
                has_single_value=group.has_single_value,
            )
        existing.has_single_value = group.has_single_value
        _merge_labels(session, org_id, existing, group.labels)
    return created, updated


def _merge_labels(session: Session, org_id: str, group: LabelGroup, items: Sequence[Any]) -> None:
    by_name = {v.name.casefold(): v for v in group.values}
    for item in items:
        value = by_name.get(item.name.strip().casefold())
        if value is None:
            value = LabelValue(org_id=org_id, name=item.name.strip(), position=len(group.values))
            group.values.append(value)
            by_name[value.name.casefold()] = value
        value.color = item.color
    session.flush()


def import_apps(
    session: Session, org_id: str, token_user_id: str, apps: Sequence[Any], execute: bool
) -> Changes:
    """One app of the same name is updated (callback URLs merged); otherwise a new app is
    created, acting as the importing user for client_credentials. Secrets are never shown:
    set a new one with ``cmpapi apps`` (docs/compat.md)."""
    created: list[str] = []
    updated: list[str] = []
    for app in apps:
        same = session.scalars(
            select(OAuthApp).where(OAuthApp.org_id == org_id, OAuthApp.name == app.name)
        ).all()
        (updated if len(same) == 1 else created).append(app.name)
        if not execute:
            continue
        if len(same) == 1:
            existing = same[0]
            existing.redirect_uris = list(
                dict.fromkeys([*existing.redirect_uris, *app.authorization_callback_urls])
            )
            existing.expose_email = app.expose_email
            existing.description, existing.homepage_url = app.description, app.homepage_url
            continue
        new, _secret = store.create_app(
            session,
            org_id,
            name=app.name,
            redirect_uris=list(app.authorization_callback_urls),
            token_user_id=token_user_id,
            expose_email=app.expose_email,
        )
        new.description, new.homepage_url = app.description, app.homepage_url
    session.flush()
    return created, updated


def export_apps(session: Session, org_id: str) -> list[dict[str, Any]]:
    """The organization's active apps as Settings ``apps`` items."""
    rows = session.scalars(
        select(OAuthApp)
        .where(OAuthApp.org_id == org_id, OAuthApp.is_active.is_(True))
        .order_by(OAuthApp.name)
    )
    return [
        {
            "name": a.name,
            "description": a.description,
            "homepage_url": a.homepage_url or "",
            "authorization_callback_urls": list(a.redirect_uris),
            "expose_email": a.expose_email,
            "env": "production",
        }
        for a in rows
    ]


def export_labels(session: Session, org_id: str) -> list[dict[str, Any]]:
    """The organization's label groups as Settings ``labels`` items."""
    rows = session.scalars(
        select(LabelGroup).where(LabelGroup.org_id == org_id).order_by(LabelGroup.name)
    )
    return [
        {
            "label_type": g.name,
            "has_single_value": g.has_single_value,
            "labels": [{"name": v.name, "color": v.color} for v in g.values],
        }
        for g in rows
    ]
