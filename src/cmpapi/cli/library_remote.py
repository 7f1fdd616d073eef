"""``cmpapi assets list|get|download``, ``cmpapi folders list|get|create`` and ``cmpapi
campaigns list|get``: the library and campaigns of any CMP, through the SDK."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from cmpapi.cli import profiles, remote
from cmpapi.cli.remote import (
    DEFAULT_LIMIT,
    AllOption,
    LimitOption,
    Output,
    OutputOption,
    ProfileOption,
    field,
)

assets_app = typer.Typer(help="Library assets (remote: any CMP).", no_args_is_help=True)
folders_app = typer.Typer(help="Library folders (remote: any CMP).", no_args_is_help=True)
campaigns_app = typer.Typer(help="Campaigns (remote: any CMP).", no_args_is_help=True)

ASSET_COLUMNS = [
    ("ID", field("id")),
    ("TYPE", field("type")),
    ("TITLE", field("title")),
    ("FOLDER", field("folder_id")),
    ("MODIFIED", field("modified_at")),
]
FOLDER_COLUMNS = [
    ("ID", field("id")),
    ("NAME", field("name")),
    ("PARENT", field("parent_folder_id")),
    ("MODIFIED", field("modified_at")),
]
CAMPAIGN_COLUMNS = [
    ("ID", field("id")),
    ("REF", field("reference_id")),
    ("TITLE", field("title")),
    ("START", field("start_date")),
    ("END", field("end_date")),
]
Profile = ProfileOption
DEFAULT = profiles.DEFAULT_PROFILE


def _labels(values: list[str] | None) -> list[dict[str, Any]] | None:
    """``GROUP:VALUE[,VALUE...]`` options as listAssets ``label`` items."""
    if not values:
        return None
    items = []
    for value in values:
        group, _, rest = value.partition(":")
        if not group or not rest:
            remote.fail(f"--label {value}: expected GROUP_ID:VALUE_ID[,VALUE_ID...]", 2)
        items.append({"group": group, "values": rest.split(",")})
    return items


@assets_app.command("list")
def assets_list(
    type_: Annotated[
        list[str] | None,
        typer.Option(
            "--type", help="article, image, video, raw_file or structured_content (repeatable)"
        ),
    ] = None,
    folder: Annotated[str | None, typer.Option(help="Only assets of this folder id")] = None,
    subfolders: Annotated[
        bool, typer.Option("--subfolders", help="With --folder: its subfolders' assets too")
    ] = False,
    search: Annotated[str | None, typer.Option(help="Text the title or content contains")] = None,
    campaign: Annotated[str | None, typer.Option(help="Only assets of this campaign")] = None,
    label: Annotated[
        list[str] | None, typer.Option(help="GROUP_ID:VALUE_ID[,VALUE_ID...] (repeatable)")
    ] = None,
    created_from: Annotated[str | None, typer.Option(help="ISO 8601 date-time")] = None,
    created_to: Annotated[str | None, typer.Option(help="ISO 8601 date-time")] = None,
    modified_from: Annotated[str | None, typer.Option(help="ISO 8601 date-time")] = None,
    modified_to: Annotated[str | None, typer.Option(help="ISO 8601 date-time")] = None,
    limit: LimitOption = DEFAULT_LIMIT,
    all_: AllOption = False,
    output: OutputOption = Output.table,
    profile: Profile = DEFAULT,
) -> None:
    """List library assets (listAssets), newest first."""
    with remote.session(profile) as client:
        pager = client.library.list_assets(
            type=type_,  # type: ignore[arg-type] # checked by the SDK's query model
            folder_id=folder,
            include_subfolder_assets=True if subfolders else None,
            search_text=search,
            campaign_id=campaign,
            label=_labels(label),
            created_at__from=created_from,
            created_at__to=created_to,
            modified_at__from=modified_from,
            modified_at__to=modified_to,
            page_size=remote.page_size(limit, all_),
        )
        rows = remote.collect(pager, limit, all_)
    remote.show(rows, output, ASSET_COLUMNS)


def fetch_asset(client: Any, asset_id: str) -> dict[str, Any]:
    """An asset of any type, library or task: getAssetUrl tells where it is, then that
    URL (an API URL) gives it."""
    where = client.assets.get_asset_url(asset_id)
    asset: dict[str, Any] = client.request("GET", where.location).json()
    if where.resource_location:
        asset.setdefault("resource_location", where.resource_location)
    return asset


@assets_app.command("get")
def assets_get(
    asset_id: Annotated[str, typer.Argument(help="Asset id")],
    output: OutputOption = Output.table,
    profile: Profile = DEFAULT,
) -> None:
    """Show one asset of any type (getAssetUrl, then its type's operation)."""
    with remote.session(profile) as client:
        asset = fetch_asset(client, asset_id)
    remote.show(asset, output)


@assets_app.command("download")
def assets_download(
    asset_id: Annotated[str, typer.Argument(help="Asset id")],
    destination: Annotated[
        Path, typer.Argument(help="File, or directory to put it in (named after its title)")
    ] = Path("."),
    rendition: Annotated[
        str | None, typer.Option(help="Download this rendition (its name or id) instead")
    ] = None,
    profile: Profile = DEFAULT,
) -> None:
    """Download an asset's file (or one of its renditions); prints the path written."""
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    with remote.session(profile) as client:
        asset = fetch_asset(client, asset_id)
        url = _rendition_url(client, asset_id, rendition) if rendition else _file_url(asset)
        target = destination / _file_name(asset) if destination.is_dir() else destination
        columns = (*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=remote.err) as bar:
            task = bar.add_task(target.name, total=None)

            def progress(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            path = client.download(url, target, progress=progress)
    print(path)


def _file_url(asset: dict[str, Any]) -> str:
    """The download URL of an image, video or raw file (its ``url``; ``content`` in the
    list form)."""
    content = asset.get("content") or {}
    url = asset.get("url") or (content.get("value") if content.get("type") == "url" else None)
    if not url:
        remote.fail(f"asset {asset.get('id')} has no file to download (an article?)")
    return str(url)


def _rendition_url(client: Any, asset_id: str, wanted: str) -> str:
    for rendition in client.library.list_asset_renditions(asset_id):
        if wanted in (rendition.id, rendition.name):
            return str(rendition.url)
    remote.fail(f"asset {asset_id} has no rendition {wanted!r}")


def _file_name(asset: dict[str, Any]) -> str:
    """The asset's title as a file name, with its extension."""
    name = re.sub(r"[\\/\x00-\x1f]+", "_", str(asset.get("title") or asset["id"])).strip(". ")
    extension = asset.get("file_extension")
    if extension and not name.lower().endswith(f".{str(extension).lower()}"):
        name = f"{name}.{extension}"
    return name or str(asset["id"])


@folders_app.command("list")
def folders_list(
    parent: Annotated[str | None, typer.Option(help="Only the children of this folder")] = None,
    limit: LimitOption = DEFAULT_LIMIT,
    all_: AllOption = False,
    output: OutputOption = Output.table,
    profile: Profile = DEFAULT,
) -> None:
    """List folders (listFolders), most recently modified first."""
    with remote.session(profile) as client:
        pager = client.library.list_folders(
            parent_folder_id=parent, page_size=remote.page_size(limit, all_)
        )
        rows = remote.collect(pager, limit, all_)
    remote.show(rows, output, FOLDER_COLUMNS)


@folders_app.command("get")
def folders_get(
    folder_id: Annotated[str, typer.Argument(help="Folder id")],
    output: OutputOption = Output.table,
    profile: Profile = DEFAULT,
) -> None:
    """Show one folder (getFolder)."""
    with remote.session(profile) as client:
        folder = client.library.get_folder(folder_id)
    remote.show(folder, output)


@folders_app.command("create")
def folders_create(
    name: Annotated[str, typer.Argument(help="Folder name")],
    parent: Annotated[str | None, typer.Option(help="Parent folder id (default: top)")] = None,
    output: OutputOption = Output.table,
    profile: Profile = DEFAULT,
) -> None:
    """Create a folder (createFolder); prints it."""
    body = {"name": name} | ({"parent_folder_id": parent} if parent else {})
    with remote.session(profile) as client:
        folder = client.library.create_folder(body=body)
    remote.show(folder, output)


@campaigns_app.command("list")
def campaigns_list(
    owner: Annotated[str | None, typer.Option(help="Owner user id")] = None,
    start_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    end_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    limit: LimitOption = DEFAULT_LIMIT,
    all_: AllOption = False,
    output: OutputOption = Output.table,
    profile: Profile = DEFAULT,
) -> None:
    """List campaigns (listCampaigns)."""
    with remote.session(profile) as client:
        pager = client.campaigns.list_campaigns(
            owner=owner,
            start_date=start_date,
            end_date=end_date,
            page_size=remote.page_size(limit, all_),
        )
        rows = remote.collect(pager, limit, all_)
    remote.show(rows, output, CAMPAIGN_COLUMNS)


@campaigns_app.command("get")
def campaigns_get(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id")],
    output: OutputOption = Output.table,
    profile: Profile = DEFAULT,
) -> None:
    """Show one campaign (getCampaign)."""
    with remote.session(profile) as client:
        campaign = client.campaigns.get_campaign(campaign_id)
    remote.show(campaign, output)
