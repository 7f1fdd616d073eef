"""Renditions: configs say what to derive from images; each new image version gets one
rendition per matching config, made by a background job (never in the request path).
When the last rendition of a version is finished, ``asset_renditions_created`` is recorded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import utcnow
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import Invalid
from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.jobs import JobContext, ProcessCrashed, enqueue, job_handler
from cmpapi.server.resources.library import assets, imaging
from cmpapi.server.resources.library.assets import load_asset
from cmpapi.server.resources.library.tables import Asset, Rendition, RenditionConfig
from cmpapi.server.storage import store_for

JOB = "library.rendition"
MAX_SOURCE = 200 * 1024 * 1024  # larger originals get an Error rendition, not a huge read


def create_config(
    session: Session,
    org_id: str,
    *,
    name: str,
    width: int | None,
    height: int | None,
    output_format: str | None = None,
    quality: int | None = None,
    input_format: str | None = None,
    id_: str | None = None,
) -> RenditionConfig:
    """Add a rendition config (CLI, demo seed). Flushed, not committed."""
    if output_format is not None and output_format not in imaging.FORMATS:
        raise Invalid(f"output_format must be one of {', '.join(imaging.FORMATS)}")
    if (width is not None and width < 1) or (height is not None and height < 1):
        raise Invalid("width and height must be positive")
    if quality is not None and not 1 <= quality <= 100:
        raise Invalid("quality is a percentage, 1 to 100")
    config = RenditionConfig(
        name=name,
        width=width,
        height=height,
        output_format=output_format,
        quality=quality,
        input_format=input_format,
    )
    if id_ is not None:
        config.id = id_
    return Repository(RenditionConfig, session, org_id).add(config)


def schedule(session: Session, asset: Asset) -> None:
    """Queue the renditions of the asset's current version (in the caller's transaction)."""
    if asset.type != "image":
        return
    configs = session.scalars(
        select(RenditionConfig).where(
            RenditionConfig.org_id == asset.org_id, RenditionConfig.asset_type == "image"
        )
    ).all()
    extension = (asset.file_extension or "").replace("jpg", "jpeg")
    for config in configs:
        if config.input_format and config.input_format != extension:
            continue
        rendition = Rendition(
            org_id=asset.org_id,
            asset_id=asset.id,
            version_id=asset.version_id,
            config_id=config.id,
            name=config.name,
        )
        session.add(rendition)
        session.flush()
        enqueue(
            session,
            JOB,
            {"rendition_id": rendition.id},
            org_id=asset.org_id,
            dedupe_key=rendition.id,
        )


def get_rendition_config(session: Session, principal: Principal, config_id: str) -> RenditionConfig:
    """One rendition config of the organization."""
    require(principal, "library:read")
    return Repository(RenditionConfig, session, principal.org_id).get(config_id)


def get_rendition(
    session: Session, principal: Principal, rendition_id: str
) -> tuple[Rendition, Asset]:
    """One rendition, if its asset is visible to the caller."""
    rendition = Repository(Rendition, session, principal.org_id).get(rendition_id)
    return rendition, load_asset(session, principal, rendition.asset_id, "view")


# What a page reads, as module-level columns and clauses (``Repository.rows`` prepares
# them once; the asset's values go in ``params``).
LIST_COLUMNS = (
    Rendition.id,
    Rendition.name,
    Rendition.created_at,
    Rendition.mime_type,
    Rendition.storage_key,
)
_DONE_OF_VERSION = (
    Rendition.asset_id == bindparam("asset_id"),
    Rendition.version_id == bindparam("version_id"),
    Rendition.status == "Done",
)
OLDEST_FIRST = (Rendition.created_at,)


def list_asset_renditions(
    session: Session, principal: Principal, asset_id: str, offset: int, size: int
) -> Page[Any]:
    """The finished renditions of the asset's current version (rows of
    ``LIST_COLUMNS``)."""
    asset = load_asset(session, principal, asset_id, "view")
    return Repository(Rendition, session, principal.org_id).rows(
        LIST_COLUMNS,
        *_DONE_OF_VERSION,
        order_by=OLDEST_FIRST,
        offset=offset,
        page_size=size,
        params={"asset_id": asset.id, "version_id": asset.version_id},
    )


def _load(session: Session, rendition_id: str) -> tuple[Rendition, Asset, RenditionConfig] | None:
    rendition = session.get(Rendition, rendition_id)
    if rendition is None or rendition.status != "InProgress":
        return None  # deleted meanwhile, or already made by an earlier attempt
    asset = session.get(Asset, rendition.asset_id)
    config = session.get(RenditionConfig, rendition.config_id)
    if asset is None or config is None or asset.version_id != rendition.version_id:
        rendition.status, rendition.error = "Error", "The asset version is gone"
        session.commit()
        return None
    return rendition, asset, config


def _finish(session: Session, rendition_id: str, result: dict[str, Any], api_base: str) -> None:
    # Exactly one finisher of a version records the event. The write comes first (SQLite:
    # it takes the write lock before any read), then the asset row is locked (PostgreSQL:
    # finishers of one asset serialise), then the count sees every committed finish.
    updated = session.execute(
        update(Rendition)
        .where(Rendition.id == rendition_id, Rendition.status == "InProgress")
        .values(**result, modified_at=utcnow())
        .returning(Rendition.asset_id, Rendition.version_id)
    ).first()
    if updated is None:
        session.rollback()
        return
    asset_id, version_id = updated
    asset = session.scalars(select(Asset).where(Asset.id == asset_id).with_for_update()).first()
    pending = session.scalar(
        select(func.count())
        .select_from(Rendition)
        .where(
            Rendition.asset_id == asset_id,
            Rendition.version_id == version_id,
            Rendition.status == "InProgress",
        )
    )
    if not pending and asset is not None and asset.version_id == version_id:
        record_event(
            session, "asset_renditions_created", _event(asset, api_base), org_id=asset.org_id
        )
    session.commit()


def _event(asset: Asset, api_base: str) -> dict[str, Any]:
    links = Links(api_base)
    return {
        "asset": {
            "id": asset.id,
            "owner_organization_id": asset.org_id,
            "type": asset.type,
            "links": {
                "self": links.to("getImage", id=asset.id),
                "renditions": links.to("listAssetRenditions", asset_id=asset.id),
            },
        }
    }


@job_handler(JOB, timeout=120)
async def make_rendition(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Read the original, resize it in a child process, store the result."""
    rendition_id = str(payload["rendition_id"])
    loaded = await ctx.db.run(_in_session, ctx, _load, rendition_id)
    if loaded is None:
        return
    rendition, asset, config = loaded
    store = store_for(ctx.settings)
    settings = ctx.settings
    base = (settings.public_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if asset.file_size > MAX_SOURCE or not asset.storage_key:
        result: dict[str, Any] = {"status": "Error", "error": "The original is too large"}
    else:
        data = await store.read_range(asset.storage_key, 0, asset.file_size)
        try:
            out, mime, width, height = await ctx.run_in_process(
                imaging.render,
                data,
                config.width,
                config.height,
                config.output_format,
                config.quality,
            )
        except (imaging.BadImage, ProcessCrashed) as exc:
            # Corrupt images and decoder crashes fail the same way every time: no retry.
            result = {"status": "Error", "error": str(exc)[:500] or type(exc).__name__}
        else:
            key = f"renditions/{rendition.id}"
            await store.put_bytes(key, out, mime)
            result = {
                "status": "Done",
                "storage_key": key,
                "mime_type": mime,
                "width": width,
                "height": height,
            }
    await ctx.db.run(_in_session, ctx, _finish, rendition_id, result, base)


def _in_session(ctx: JobContext, fn: Any, *args: Any) -> Any:
    with ctx.sessionmaker() as session:
        return fn(session, *args)


assets.ON_NEW_VERSION.append(schedule)
