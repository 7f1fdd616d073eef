"""Library administration on this machine: rendition configs (the API has no create)."""

from __future__ import annotations

from typing import Annotated

import typer

from cmpapi.cli.local import (
    Column,
    DatabaseUrl,
    DataDir,
    Org,
    Output,
    OutputFormat,
    open_db,
    print_rows,
    resolve_org,
)

renditions_app = typer.Typer(help="Rendition configs.", no_args_is_help=True)


@renditions_app.command("create-config")
def create_config(
    name: Annotated[str, typer.Option(help="Rendition name, e.g. thumbnail")],
    width: Annotated[int | None, typer.Option(help="Fit inside this width (pixels)")] = None,
    height: Annotated[int | None, typer.Option(help="Fit inside this height (pixels)")] = None,
    output_format: Annotated[
        str | None, typer.Option("--format", help="jpeg, png, webp or gif (default: as input)")
    ] = None,
    quality: Annotated[int | None, typer.Option(help="Encoder quality, 1-100")] = None,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a rendition config; new image versions get a rendition made with it."""
    from cmpapi.server.resources.library import renditions

    with open_db(data_dir, database_url) as session:
        config = renditions.create_config(
            session,
            resolve_org(session, org),
            name=name,
            width=width,
            height=height,
            output_format=output_format,
            quality=quality,
        )
        session.commit()
        print(f"id: {config.id}")


@renditions_app.command("list-configs")
def list_configs(
    org: Org = None,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show the organization's rendition configs."""
    from sqlalchemy import select

    from cmpapi.server.resources.library.tables import RenditionConfig

    with open_db(data_dir, database_url, write=False) as session:
        rows = session.scalars(
            select(RenditionConfig)
            .where(RenditionConfig.org_id == resolve_org(session, org))
            .order_by(RenditionConfig.name)
        ).all()
        print_rows(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "width": r.width,
                    "height": r.height,
                    "output_format": r.output_format,
                    "quality": r.quality,
                }
                for r in rows
            ],
            CONFIG_COLUMNS,
            output,
        )


CONFIG_COLUMNS = [
    Column("id", "id", ident=True),
    Column("name", "name"),
    Column("width", "width"),
    Column("height", "height"),
    Column("output_format", "format", show=lambda r: r["output_format"] or "as input"),
    Column("quality", "quality"),
]
