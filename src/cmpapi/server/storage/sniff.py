"""What a file is, from its first bytes (magic numbers), never from what the client claimed.

``sniff`` classifies the head of a file; ``image_size`` reads an image's dimensions with
Pillow from a bounded prefix, refusing decompression bombs.
"""

from __future__ import annotations

import io
import re
import struct

OCTET_STREAM = "application/octet-stream"
# (offset, magic, mime type); checked in order, first match wins.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/vnd.ms-office"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\x00\x00\x01\xba", "video/mpeg"),
    (0, b"\x00\x00\x01\xb3", "video/mpeg"),
)
_RIFF = {b"WEBP": "image/webp", b"AVI ": "video/x-msvideo", b"WAVE": "audio/wav"}
# ISO base media (ftyp box) major brands.
_FTYP = {
    b"qt  ": "video/quicktime",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"M4A ": "audio/mp4",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3g2a": "video/3gpp2",
}
_OOXML = (
    (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/tiff": "tif",
    "image/bmp": "bmp",
    "image/svg+xml": "svg",
    "image/avif": "avif",
    "image/heic": "heic",
    "image/heif": "heif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
    "video/x-msvideo": "avi",
    "video/mpeg": "mpg",
    "video/3gpp": "3gp",
    "video/3gpp2": "3g2",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/wav": "wav",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/gzip": "gz",
    "application/x-7z-compressed": "7z",
    "application/vnd.rar": "rar",
    "application/epub+zip": "epub",
    "application/vnd.ms-office": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "text/plain": "txt",
    "text/html": "html",
}
# Formats Pillow may open to read dimensions (its format names).
PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/tiff": "TIFF",
    "image/bmp": "BMP",
    "image/avif": "AVIF",
}
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_SVG_TAG = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE)
_SVG_LENGTH = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(px)?\s*")


def sniff(head: bytes) -> str:
    """The MIME type of a file whose first bytes are ``head`` (``application/octet-stream``
    when nothing matches)."""
    for offset, magic, mime in _MAGIC:
        if head.startswith(magic, offset):
            return mime
    return (
        _container(head)
        or _bmp(head)
        or (_zip(head) if head.startswith(b"PK\x03\x04") else None)
        or _text(head)
        or OCTET_STREAM
    )


def _container(head: bytes) -> str | None:
    if head.startswith(b"RIFF") and len(head) >= 12:
        return _RIFF.get(head[8:12])
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return _FTYP.get(brand, "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM or Matroska
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    return None


def _bmp(head: bytes) -> str | None:
    # "BM" alone is too weak (text starts with it); the DIB header size must be a real one.
    if head.startswith(b"BM") and len(head) >= 18:
        (dib_size,) = struct.unpack_from("<I", head, 14)
        if dib_size in _BMP_HEADER_SIZES:
            return "image/bmp"
    return None


def _zip(head: bytes) -> str:
    # ODF and EPUB store their type uncompressed as the first entry, named "mimetype".
    if head[30:38] == b"mimetype":
        declared = head[38:120].split(b"PK", 1)[0].decode("ascii", "replace").strip()
        if declared.startswith(("application/vnd.oasis.opendocument.", "application/epub")):
            return declared
    for marker, mime in _OOXML:
        if marker in head:
            return mime
    return "application/zip"


def _text(head: bytes) -> str | None:
    if not head or b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\b\x1b")
    if controls > len(text) // 100:
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith("<") and _SVG_TAG.search(head[:4096]):
        return "image/svg+xml"
    if start.startswith(("<!doctype html", "<html")):
        return "text/html"
    return "text/plain"


class ImageTooLarge(Exception):
    """The image has more pixels than ``Image.MAX_IMAGE_PIXELS`` allows."""


def image_size(data: bytes, mime_type: str) -> tuple[int, int] | None:
    """(width, height) read from the image header in ``data``, or None when unreadable (e.g.
    the prefix is too short). Raises ImageTooLarge for decompression bombs."""
    if mime_type == "image/svg+xml":
        return _svg_size(data)
    fmt = PILLOW_FORMATS.get(mime_type)
    if fmt is None:
        return None
    # Pillow is imported by the first image, not by every server start (issue 15).
    from PIL import Image, UnidentifiedImageError

    try:
        # Opening parses the header only; no pixel data is decoded here.
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning arrives as an exception when warnings are errors (tests, -W error).
        raise ImageTooLarge(str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
        return None
    except Warning:  # e.g. "possibly corrupt EXIF" raised as an error: unreadable to us
        return None
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise ImageTooLarge(f"{width}x{height} pixels")
    return (width, height) if width > 0 and height > 0 else None


def _svg_size(data: bytes) -> tuple[int, int] | None:
    """Pixel size from the root ``<svg>`` tag's width/height, else its viewBox."""
    match = _SVG_TAG.search(data[:65536])
    if match is None:
        return None
    tag = match.group(0).decode("utf-8", "replace")
    attrs = dict(re.findall(r'\b(width|height|viewBox)\s*=\s*["\']([^"\']*)["\']', tag))
    width, height = _svg_length(attrs.get("width")), _svg_length(attrs.get("height"))
    if width and height:
        return width, height
    box = attrs.get("viewBox", "").replace(",", " ").split()
    if len(box) == 4:
        try:
            w, h = round(float(box[2])), round(float(box[3]))
        except ValueError:
            return None
        return (w, h) if w > 0 and h > 0 else None
    return None


def _svg_length(value: str | None) -> int | None:
    match = _SVG_LENGTH.fullmatch(value or "")
    return round(float(match.group(1))) or None if match else None
