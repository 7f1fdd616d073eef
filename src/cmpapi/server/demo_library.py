"""Demo library (``cmpapi serve --demo``): a folder of real pictures ("Spring photos", Dan
Designer's, shared with the Marketing team) whose renditions are already made, a folder
of raw files ("Brand kit": a PDF and a text file), an article, and labels and field
values on the assets. Ids and object keys are stable; the bytes come from ``demo_files``.

The objects are written first, then the rows, in one transaction: a start that dies
between them leaves objects no row names, and the next start writes the same keys again.
The renditions are made here, synchronously, with the rendition job's own resizing
(``imaging.render``) and stored where the job stores them: when the banner shows, every
picture lists its renditions. The rows are made directly (the API has no way to choose
an asset's id), so no webhook event announces them: they are there from the start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.demo_seeded import seeded
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.library import acl, imaging
from cmpapi.server.resources.library.tables import (
    Asset,
    AssetLabel,
    AssetVersion,
    Folder,
    Rendition,
    RenditionConfig,
)
from cmpapi.server.storage import ObjectStore
from cmpapi.server.storage.sniff import EXTENSIONS, image_size, sniff

DemoId = Callable[[str], str]
PHOTOS = "Spring photos"
BRAND_KIT = "Brand kit"
ARTICLE = "Spring launch press release"
ARTICLE_BODY = (
    "<h1>Spring launch</h1><p>Our spring collection arrives on March 1 in every store "
    "and online.</p><p>Press contact: press@demo.cmpapi.dev</p>"
)
# title -> (label group -> values, field name -> values); choice values by name.
TAGS: dict[str, tuple[dict[str, list[str]], dict[str, list[Any]]]] = {
    "Spring meadow": (
        {"Content Pillar": ["Pillar 1", "Pillar 2"], "Region": ["EMEA"]},
        {
            "Headline": ["Spring is here"],
            "Channel": ["Web", "Social"],
            "Priority": ["High"],
            "Launch date": ["2031-03-01T09:00:00Z"],
        },
    ),
    "Product shot": (
        {"Content Pillar": ["Pillar 3"], "Region": ["Americas"]},
        {"Headline": ["The new bottle"], "Channel": ["Email"], "Review state": ["Approved"]},
    ),
    "Team offsite": ({"Region": ["APAC"]}, {"Audience": ["B2B"], "Reach": [1200.5]}),
    "Brand guidelines": ({"Content Pillar": ["Pillar 1"]}, {"Summary": ["Logo, colours, type"]}),
}


@dataclass(frozen=True)
class DemoAsset:
    """One file asset to seed: where it goes, who owns it, its bytes."""

    title: str
    folder: str
    owner: str  # a demo user's email local part
    data: bytes


def seed_library(session: Session, store: ObjectStore, org_id: str, demo_id: DemoId) -> None:
    """Seed the library once (the "Spring photos" folder marks it done)."""
    if seeded(session, Folder, demo_id(f"folder:{PHOTOS}")):
        return
    from cmpapi.server.demo_files import images, raw_files  # Pillow: only when seeding

    files = [DemoAsset(t, PHOTOS, "dan.designer", d) for t, d in images().items()]
    files += [DemoAsset(t, BRAND_KIT, "mia.marketer", d) for t, d in raw_files().items()]
    configs = session.scalars(
        select(RenditionConfig)
        .where(RenditionConfig.org_id == org_id)
        .order_by(RenditionConfig.name)
    ).all()
    objects = {f"assets/{demo_id(f'asset:{f.title}')}": f.data for f in files}
    made = {f.title: _renditions(f, configs, demo_id) for f in files if f.folder == PHOTOS}
    objects |= {key: data for renditions in made.values() for key, data, _ in renditions}
    asyncio.run(_write(store, objects))
    _folder(session, org_id, PHOTOS, "dan.designer", ("team", "Marketing"), demo_id)
    _folder(session, org_id, BRAND_KIT, "mia.marketer", ("team", "Design"), demo_id)
    for file in files:
        asset = _file_asset(session, org_id, file, demo_id)
        for _key, _data, rendition in made.get(file.title, []):
            rendition.asset_id, rendition.version_id = asset.id, asset.version_id
            session.add(rendition)
    _article(session, org_id, demo_id)
    session.flush()
    for title, (labels, fields) in TAGS.items():
        _tag(session, org_id, demo_id(f"asset:{title}"), labels, fields, demo_id)
    session.commit()


async def _write(store: ObjectStore, objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        await store.put_bytes(key, data)


def _folder(
    session: Session, org_id: str, name: str, owner: str, shared: tuple[str, str], demo_id: DemoId
) -> None:
    """A root folder, as createFolder makes it, shared with a team (edit)."""
    folder_id, owner_id = demo_id(f"folder:{name}"), demo_id(f"user:{owner}")
    session.add(
        Folder(
            id=folder_id, org_id=org_id, name=name, id_path=f"/{folder_id}/", created_by=owner_id
        )
    )
    session.flush()
    acl.grant(session, org_id, ("folder", folder_id), ("user", owner_id), acl.FULL, is_owner=True)
    kind, team = shared
    acl.grant(
        session, org_id, ("folder", folder_id), (kind, demo_id(f"team:{team}")), acl.LEVELS["edit"]
    )


def _file_asset(session: Session, org_id: str, file: DemoAsset, demo_id: DemoId) -> Asset:
    """An image or raw file asset at version 1, as createAsset makes it."""
    mime = sniff(file.data[:64])
    size = image_size(file.data, mime)
    asset = Asset(
        id=demo_id(f"asset:{file.title}"),
        org_id=org_id,
        title=file.title,
        type="image" if size else "raw_file",
        folder_id=demo_id(f"folder:{file.folder}"),
        owner_id=demo_id(f"user:{file.owner}"),
        mime_type=mime,
        file_extension=EXTENSIONS.get(mime),
        file_size=len(file.data),
        width=size[0] if size else None,
        height=size[1] if size else None,
        storage_key=f"assets/{demo_id(f'asset:{file.title}')}",
        version_id=demo_id(f"asset-version:{file.title}:1"),
        version_number=1,
        tags=[],
    )
    _own(session, asset)
    session.add(
        AssetVersion(
            id=asset.version_id,
            org_id=org_id,
            asset_id=asset.id,
            version_number=1,
            type=asset.type,
            title=asset.title,
            mime_type=mime,
            file_size=asset.file_size,
            storage_key=asset.storage_key or "",
        )
    )
    return asset


def _own(session: Session, asset: Asset) -> None:
    session.add(asset)
    session.flush()
    owner = asset.owner_id or ""
    acl.grant(session, asset.org_id, ("asset", asset.id), ("user", owner), acl.FULL, is_owner=True)


def _article(session: Session, org_id: str, demo_id: DemoId) -> None:
    """A library article (HTML, no file) at the library's root, Wes Writer's."""
    article = Asset(
        id=demo_id(f"asset:{ARTICLE}"),
        org_id=org_id,
        type="article",
        title=ARTICLE,
        owner_id=demo_id("user:wes.writer"),
        mime_type="text/html",
        html_body=ARTICLE_BODY,
        file_size=0,
        version_id=demo_id(f"asset-version:{ARTICLE}:1"),
        tags=[],
    )
    _own(session, article)


def _renditions(
    file: DemoAsset, configs: Any, demo_id: DemoId
) -> list[tuple[str, bytes, Rendition]]:
    """Each config's rendition of a picture, made as the rendition job makes it: (object
    key, bytes, its row, finished; the asset and version ids are set by the caller)."""
    out = []
    for config in configs:
        data, mime, width, height = imaging.render(
            file.data, config.width, config.height, config.output_format, config.quality
        )
        rendition_id = demo_id(f"rendition:{file.title}:{config.name}")
        key = f"renditions/{rendition_id}"
        row = Rendition(
            id=rendition_id,
            org_id=config.org_id,
            config_id=config.id,
            name=config.name,
            status="Done",
            storage_key=key,
            mime_type=mime,
            width=width,
            height=height,
        )
        out.append((key, data, row))
    return out


def _tag(
    session: Session,
    org_id: str,
    asset_id: str,
    labels: dict[str, list[str]],
    fields: dict[str, list[Any]],
    demo_id: DemoId,
) -> None:
    """Label values and field values on an asset, checked by the fields' own rules."""
    for group, names in labels.items():
        for name in names:
            session.add(
                AssetLabel(
                    asset_id=asset_id,
                    group_id=demo_id(f"label-group:{group}"),
                    value_id=demo_id(f"label:{group}:{name}"),
                )
            )
    inputs = []
    for name, given in fields.items():
        field = values.load_fields(session, org_id, [demo_id(f"field:{name}")])
        definition = field[demo_id(f"field:{name}")]
        raw = [demo_id(f"field:{name}:{v}") if definition.choices else v for v in given]
        inputs.append(values.ValueInput(definition.id, definition.type, raw))
    checked = values.validate_field_values(session, org_id, inputs, types=values.ASSET_FIELD_TYPES)
    values.replace_field_values(session, org_id, "asset", asset_id, checked)
    session.flush()
