"""What an uploaded object is: magic-number sniffing, image dimensions, bomb guards."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image

from cmpapi.server.errors import Invalid
from cmpapi.server.storage import ObjectStore, inspect_object
from cmpapi.server.storage.sniff import ImageTooLarge, image_size, sniff

pytestmark = pytest.mark.anyio
KEY = "0123456789abcdef0123456789abcdef"


def picture(fmt: str, size: tuple[int, int] = (320, 200), **save: object) -> bytes:
    """A real image file made by Pillow."""
    buffer = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP", "GIF") else "RGB"
    Image.new(mode, size, (200, 30, 30)).save(buffer, fmt, **save)  # type: ignore[arg-type]
    return buffer.getvalue()


def zipped(*names: str, first: tuple[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if first:
            archive.writestr(zipfile.ZipInfo(first[0]), first[1])  # stored, uncompressed
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def png_with_size(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` (a decompression bomb shape)."""
    data = bytearray(picture("PNG", (1, 1)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (picture("JPEG"), "image/jpeg"),
        (picture("PNG"), "image/png"),
        (picture("GIF"), "image/gif"),
        (picture("WEBP"), "image/webp"),
        (picture("TIFF"), "image/tiff"),
        (picture("BMP"), "image/bmp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (zipped("a.txt"), "application/zip"),
        (
            zipped("[Content_Types].xml", "word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            zipped("[Content_Types].xml", "xl/workbook.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            zipped("content.xml", first=("mimetype", b"application/vnd.oasis.opendocument.text")),
            "application/vnd.oasis.opendocument.text",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "application/vnd.ms-office"),
        ("Hello, wörld!\nplain text\n".encode(), "text/plain"),
        (b"BM is how this text starts, not a bitmap", "text/plain"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "text/html"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (bytes(range(256)) * 4, "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_sniff(data: bytes, mime: str) -> None:
    assert sniff(data[: 64 * 1024]) == mime


def test_svg_dimensions() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="120px" height="80">'
    assert image_size(svg, "image/svg+xml") == (120, 80)
    boxed = b'<svg viewBox="0 0 640 480" width="100%">'
    assert image_size(boxed, "image/svg+xml") == (640, 480)
    assert image_size(b"<svg>", "image/svg+xml") is None


def test_bomb_headers_are_refused_without_decoding() -> None:
    for width, height in ((30_000, 30_000), (10_000, 10_000)):
        with pytest.raises(ImageTooLarge):
            image_size(png_with_size(width, height), "image/png")
    assert image_size(png_with_size(4000, 3000), "image/png") == (4000, 3000)
    assert image_size(b"\x89PNG\r\n\x1a\n garbage", "image/png") is None


async def test_inspect_images(store: ObjectStore) -> None:
    await store.put_bytes(KEY, picture("JPEG", (640, 480)))
    info = await inspect_object(store, KEY, digest=True)
    assert (info.mime_type, info.kind, info.width, info.height) == ("image/jpeg", "image", 640, 480)
    assert info.file_extension == "jpg"
    data = picture("PNG", (33, 44))
    await store.put_bytes(KEY, data, content_type="text/plain")  # the claim is ignored
    info = await inspect_object(store, KEY, digest=True)
    assert (info.mime_type, info.kind, info.width, info.height) == ("image/png", "image", 33, 44)
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()


async def test_jpeg_header_beyond_the_first_64_kib(store: ObjectStore) -> None:
    """A 300 KB ICC profile pushes the frame header out of the first sniffing window."""
    data = picture("JPEG", (50, 70), icc_profile=bytes(300_000))
    assert image_size(data[: 64 * 1024], "image/jpeg") is None
    await store.put_bytes(KEY, data)
    info = await inspect_object(store, KEY)
    assert (info.kind, info.width, info.height) == ("image", 50, 70)


async def test_bombs_and_broken_images_become_raw_files(store: ObjectStore) -> None:
    await store.put_bytes(KEY, png_with_size(30_000, 30_000))
    info = await inspect_object(store, KEY)
    assert (info.mime_type, info.kind, info.width) == ("image/png", "raw_file", None)
    await store.put_bytes(KEY, b"\xff\xd8\xff\xe0" + bytes(1000))
    info = await inspect_object(store, KEY)
    assert (info.mime_type, info.kind) == ("image/jpeg", "raw_file")


async def test_videos_and_documents(store: ObjectStore) -> None:
    await store.put_bytes(KEY, b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(5000))
    info = await inspect_object(store, KEY)
    assert (info.mime_type, info.kind, info.file_extension) == ("video/mp4", "video", "mp4")
    await store.put_bytes(KEY, b"%PDF-1.4\n" + bytes(100))
    info = await inspect_object(store, KEY)
    assert (info.mime_type, info.kind) == ("application/pdf", "raw_file")
    assert info.file_extension == "pdf"


async def test_unknown_and_malformed_keys_name_the_key(store: ObjectStore) -> None:
    for key in ("f" * 32, "../etc/passwd", "x" * 33, "F" * 32):
        with pytest.raises(Invalid) as info:
            await inspect_object(store, key)
        assert info.value.errors is not None
        assert "key" in info.value.errors
