"""Mirror the library's asset field values into another system: here a JSON file that maps
each asset's id to its field values by field name.

A first pass writes every asset; then each asset event from the CMP's webhooks rewrites
that asset's entry (a field value set or cleared fires ``asset_modified``) or drops it
(``asset_removed``). The file is replaced atomically, so a reader never sees half of it.

    pip install cmpapi uvicorn
    export CMP_CLIENT_ID=... CMP_CLIENT_SECRET=... CMP_WEBHOOK_SECRET=...
    python examples/mirror_field_values.py ./field-values.json --port 9002

Register ``http://<this host>:9002/`` as a webhook for asset_added, asset_modified and
asset_removed. ``CMP_SERVER`` (e.g. ``http://127.0.0.1:8080``) points it at a cmpapi server.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any

import uvicorn

from cmpapi.client import Client, Event, NotFoundError, webhook_app


class Mirror:
    """The JSON file ``out``, kept equal to the library's field values."""

    def __init__(self, cmp: Client, out: Path) -> None:
        self.cmp, self.out = cmp, out
        self.entries: dict[str, Any] = {}
        self.lock = threading.Lock()  # deliveries arrive on several threads

    def full_pass(self) -> None:
        for asset in self.cmp.library.list_assets():
            self.entries[asset.id] = self.entry(asset.id)
        self.save()

    def entry(self, asset_id: str) -> dict[str, Any]:
        """The asset's field values that are set, by field name."""
        fields = self.cmp.library.list_asset_fields(asset_id)
        return {f.name: f.values for f in fields if f.values}

    def on_event(self, event: Event) -> None:
        """A webhook delivery: rewrite or drop the entry of the asset it is about."""
        if event.event_name not in ("asset_added", "asset_modified", "asset_removed"):
            return
        asset_id = event.data.asset.id  # type: ignore[union-attr]
        try:
            entry = self.entry(asset_id)
        except NotFoundError:  # removed
            entry = None
        with self.lock:
            if entry is None:
                self.entries.pop(asset_id, None)
            else:
                self.entries[asset_id] = entry
            self.save()

    def save(self) -> None:
        partial = self.out.with_name(self.out.name + ".tmp")
        partial.write_text(json.dumps(self.entries, indent=2, sort_keys=True))
        partial.replace(self.out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9002)
    args = parser.parse_args()
    cmp = Client(
        server=os.environ.get("CMP_SERVER"),
        client_id=os.environ["CMP_CLIENT_ID"],
        client_secret=os.environ["CMP_CLIENT_SECRET"],
    )
    mirror = Mirror(cmp, args.out)
    mirror.full_pass()
    print(f"mirrored {len(mirror.entries)} assets", flush=True)
    app = webhook_app(mirror.on_event, secret=os.environ["CMP_WEBHOOK_SECRET"])
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
