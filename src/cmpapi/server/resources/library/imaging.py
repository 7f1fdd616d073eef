"""Image resizing for renditions. Runs in a child process (``ProcessPool``): a hostile
image can exhaust memory or crash a decoder, and only the child dies."""

from __future__ import annotations

import io

# Decompression bombs: refuse anything over this many pixels before decoding it.
MAX_PIXELS = 80_000_000
FORMATS = {
    "jpeg": ("JPEG", "image/jpeg"),
    "png": ("PNG", "image/png"),
    "webp": ("WEBP", "image/webp"),
    "gif": ("GIF", "image/gif"),
}


class BadImage(ValueError):
    """The input cannot be made into a rendition (corrupt, too large, unsupported)."""


def render(
    data: bytes, width: int | None, height: int | None, fmt: str | None, quality: int | None
) -> tuple[bytes, str, int, int]:
    """Fit the image inside ``width`` x ``height`` (never upscaling) and encode it as
    ``fmt`` (the input's format when None). Returns ``(bytes, mime, width, height)``."""
    # Pillow is imported by the first rendition, not by every server start (issue 15).
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as source:
            if source.width * source.height > MAX_PIXELS:
                raise BadImage(f"{source.width}x{source.height} pixels is too large")
            target = (fmt or (source.format or "png")).lower()
            if target not in FORMATS:
                raise BadImage(f"cannot write {target} renditions")
            image = ImageOps.exif_transpose(source)
            image.thumbnail((width or image.width, height or image.height))
            pil_format, mime = FORMATS[target]
            if pil_format == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, pil_format, quality=quality or 85)
            return out.getvalue(), mime, image.width, image.height
    except (Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise BadImage(str(exc) or type(exc).__name__) from exc
