"""Uploading files the way an integration does: getUploadUrl, then a multipart POST of
every ``upload_meta_fields`` entry in order with ``file`` last (reference §3.1)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.support.world import World


def upload(client: Any, world: World, data: bytes, filename: str = "file.bin") -> str:
    """Upload ``data``; returns the key to create assets with."""
    form = client.get("/v3/upload-url", headers=world.auth()).json()
    fields = form["upload_meta_fields"]
    response = client.post(form["url"], data=fields, files={"file": (filename, data)})
    assert response.status_code == 204, response.text
    return str(fields["key"])


def jpeg(width: int = 64, height: int = 48, color: str = "red") -> bytes:
    """A real JPEG of the given size."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()
