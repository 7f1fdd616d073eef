"""Keep a local folder in step with the library's approved images and their renditions.

An image is approved when its "Review state" field holds "Approved" (``--field`` and
``--value`` name another field and choice). A first pass copies every approved image; then
each asset event from the CMP's webhooks updates just that asset: a new or changed image is
fetched again, new renditions are added, an image that is removed or no longer approved is
deleted from the folder.

    pip install cmpapi uvicorn
    export CMP_CLIENT_ID=... CMP_CLIENT_SECRET=... CMP_WEBHOOK_SECRET=...
    python examples/sync_approved_images.py ./approved --port 9000

Register ``http://<this host>:9000/`` as a webhook for asset_added, asset_modified,
asset_removed and asset_renditions_created with the same secret. ``CMP_SERVER`` (e.g.
``http://127.0.0.1:8080``) points the program at a cmpapi server instead of the CMP.
"""

from __future__ import annotations

import argparse
import mimetypes
import os
import shutil
from pathlib import Path

import uvicorn

from cmpapi.client import Client, Event, NotFoundError, webhook_app

ASSET_EVENTS = {"asset_added", "asset_modified", "asset_removed", "asset_renditions_created"}


class ApprovedImages:
    """The folder ``dest``: one directory per approved image, the original and each
    rendition in it."""

    def __init__(self, cmp: Client, dest: Path, field_name: str, value_name: str) -> None:
        self.cmp, self.dest = cmp, dest
        field = next(f for f in cmp.fields.list_fields() if f.name == field_name)
        self.field_id = field.id
        self.value_id = next(c.id for c in field.choices if c.name == value_name)

    def full_pass(self) -> None:
        """Copy every approved image; drop what is no longer one."""
        wanted = [{"id": self.field_id, "values": [self.value_id]}]
        kept = set()
        for asset in self.cmp.library.list_assets(type=["image"], fields=wanted):
            self.sync(asset.id)
            kept.add(asset.id)
        for stale in self.dest.iterdir():
            if stale.name not in kept:
                shutil.rmtree(stale)

    def sync(self, asset_id: str) -> None:
        """Bring one asset's directory up to date (or remove it)."""
        target = self.dest / asset_id
        if not self.approved(asset_id):
            shutil.rmtree(target, ignore_errors=True)
            return
        image = self.cmp.library.get_image(asset_id)
        target.mkdir(exist_ok=True)
        self.cmp.download(image.url, target / f"original{extension(image.mime_type)}")
        for rendition in self.cmp.library.list_asset_renditions(asset_id):
            name = f"{rendition.name}{extension(rendition.mime_type)}"
            self.cmp.download(rendition.url, target / name)

    def approved(self, asset_id: str) -> bool:
        try:
            values = self.cmp.library.list_asset_fields(asset_id)
            return any(f.id == self.field_id and self.value_id in f.values for f in values)
        except NotFoundError:  # removed meanwhile, or not an asset we may see
            return False

    def on_event(self, event: Event) -> None:
        """A webhook delivery: sync the image it is about."""
        if event.event_name in ASSET_EVENTS:
            asset = event.data.asset  # type: ignore[union-attr]
            if getattr(asset, "type", "image") == "image":
                self.sync(asset.id)


def extension(mime_type: str) -> str:
    return mimetypes.guess_extension(mime_type) or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--field", default="Review state")
    parser.add_argument("--value", default="Approved")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    cmp = Client(
        server=os.environ.get("CMP_SERVER"),
        client_id=os.environ["CMP_CLIENT_ID"],
        client_secret=os.environ["CMP_CLIENT_SECRET"],
    )
    images = ApprovedImages(cmp, args.dest, args.field, args.value)
    images.full_pass()
    print(f"synced {len(list(args.dest.iterdir()))} approved images", flush=True)
    app = webhook_app(images.on_event, secret=os.environ["CMP_WEBHOOK_SECRET"])
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
