"""The demo's files, made here rather than shipped: pictures drawn with Pillow, a PDF and a
text file. The same bytes on every run (no timestamps, fixed drawing, fixed encoder
settings), so seeding twice writes the same objects and tests can compare them.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw

Rgb = tuple[int, int, int]
Painter = Callable[[ImageDraw.ImageDraw, int, int], None]


def _gradient(size: tuple[int, int], top: Rgb, bottom: Rgb) -> Image.Image:
    """A vertical gradient: a photo-like background (renditions of flat colour would hide
    resampling problems)."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(height - 1, 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    return image


def _meadow(draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    draw.ellipse([w * 0.7, h * 0.1, w * 0.85, h * 0.1 + w * 0.15], fill=(255, 214, 10))
    draw.polygon(
        [(0, h * 0.7), (w * 0.4, h * 0.5), (w, h * 0.75), (w, h), (0, h)], fill=(76, 153, 0)
    )
    for n in range(12):  # flowers
        x, y = w * (0.05 + 0.08 * n), h * (0.82 + 0.01 * (n % 3))
        draw.ellipse([x, y, x + 14, y + 14], fill=(230, 57, 70) if n % 2 else (255, 255, 255))


def _product(draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    draw.rectangle([w * 0.3, h * 0.25, w * 0.7, h * 0.85], fill=(29, 53, 87), outline=(0, 0, 0))
    draw.ellipse([w * 0.4, h * 0.35, w * 0.6, h * 0.35 + w * 0.2], fill=(168, 218, 220))
    draw.rectangle([w * 0.2, h * 0.85, w * 0.8, h * 0.9], fill=(69, 123, 157))


def _team(draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    palette = [(244, 162, 97), (42, 157, 143), (233, 196, 106), (231, 111, 81)]
    for n, colour in enumerate(palette):
        x = w * (0.12 + 0.2 * n)
        draw.ellipse([x, h * 0.3, x + w * 0.12, h * 0.3 + w * 0.12], fill=colour)  # head
        draw.rectangle([x - w * 0.02, h * 0.55, x + w * 0.14, h], fill=colour)  # body


def _banner(colour: Rgb) -> Painter:
    def paint(draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
        draw.rectangle([0, h * 0.6, w, h], fill=colour)
        draw.text((w * 0.05, h * 0.7), "SPRING COLLECTION", fill=(255, 255, 255))
        draw.ellipse([w * 0.8, h * 0.1, w * 0.95, h * 0.1 + w * 0.15], fill=(255, 214, 10))

    return paint


def picture(size: tuple[int, int], top: Rgb, bottom: Rgb, paint: Painter, fmt: str) -> bytes:
    """A picture on a gradient, encoded as ``fmt`` (``PNG`` or ``JPEG``)."""
    image = _gradient(size, top, bottom)
    paint(ImageDraw.Draw(image), *size)
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=False, progressive=False)
    else:
        image.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF 1.4 with ``title`` and ``lines`` in Helvetica (written by hand: the
    cross-reference table needs each object's byte offset)."""
    text = ["BT /F1 20 Tf 72 760 Td", f"({_pdf_escape(title)}) Tj", "/F1 12 Tf"]
    for line in lines:
        text += ["0 -24 Td", f"({_pdf_escape(line)}) Tj"]
    stream = "\n".join([*text, "ET"]).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


# title -> bytes; the library's pictures and files, and the drafts of the banner task.
IMAGES: dict[str, bytes] = {}
RAW_FILES: dict[str, bytes] = {}
DRAFTS: dict[str, bytes] = {}


def _make() -> None:
    """Fill the tables above (once, on first use: drawing costs ~50 ms, and a start on a
    seeded data directory never needs it)."""
    if IMAGES:
        return
    sky, grass = (135, 206, 235), (224, 247, 250)
    IMAGES.update(
        {
            "Spring meadow": picture((800, 533), sky, grass, _meadow, "JPEG"),
            "Product shot": picture((600, 600), (241, 250, 238), (168, 218, 220), _product, "PNG"),
            "Team offsite": picture((960, 540), (255, 241, 230), (250, 210, 180), _team, "JPEG"),
        }
    )
    guidelines = [
        "Logo: keep a clear space of one letter height.",
        "Colours: Meadow green #4C9900, Sky blue #87CEEB.",
        "Type: Helvetica for headlines, 12 pt minimum for body copy.",
    ]
    RAW_FILES.update(
        {
            "Brand guidelines": pdf("Brand guidelines", guidelines),
            "Launch checklist": (
                b"Spring launch checklist\n\n[x] Hero banner approved\n"
                b"[ ] Terms reviewed by Legal\n[ ] Newsletter scheduled\n"
            ),
        }
    )
    for n, colour in enumerate([(29, 53, 87), (76, 153, 0)], start=1):
        DRAFTS[f"Hero banner v{n}"] = picture((1200, 400), sky, grass, _banner(colour), "JPEG")


def images() -> dict[str, bytes]:
    """The library's pictures, by asset title."""
    _make()
    return IMAGES


def raw_files() -> dict[str, bytes]:
    """The library's raw files (a PDF, a text file), by asset title."""
    _make()
    return RAW_FILES


def drafts() -> dict[str, bytes]:
    """The two drafts of the banner task's image, by draft title."""
    _make()
    return DRAFTS
