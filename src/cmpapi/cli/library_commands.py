"""Library administration on this machine: rendition configs (the API has no create)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cmpapi.cli.local import DataDir, Org, fail, open_db, resolve_org

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
) -> None:
    """Add a rendition config; new image versions get a rendition made with it."""
    from cmpapi.server.errors import DomainError
    from cmpapi.server.resources.library import renditions

    with open_db(data_dir) as session:
        try:
            config = renditions.create_config(
                session, resolve_org(session, org), name=name, width=width, height=height,
                output_format=output_format, quality=quality,
            )  # fmt: skip
        except DomainError as exc:
            raise fail(exc) from exc
        session.commit()
        print(f"id: {config.id}")


@renditions_app.command("list-configs")
def list_configs(org: Org = None, data_dir: DataDir = None) -> None:
    """Show the organization's rendition configs."""
    from sqlalchemy import select

    from cmpapi.server.resources.library.tables import RenditionConfig

    with open_db(data_dir) as session:
        rows = session.scalars(
            select(RenditionConfig)
            .where(RenditionConfig.org_id == resolve_org(session, org))
            .order_by(RenditionConfig.name)
        ).all()
        table = Table("id", "name", "width", "height", "format", "quality")
        for r in rows:
            table.add_row(r.id, r.name, str(r.width or ""), str(r.height or ""),
                          r.output_format or "as input", str(r.quality or ""))  # fmt: skip
        Console().print(table)
