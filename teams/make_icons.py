"""Draw the Teams app icons with the standard library only, and write them next to this file.

    python teams/make_icons.py

color.png   192 x 192, a white speech bubble with "IT" on the accent colour
outline.png  32 x 32, the same bubble as a white outline on a transparent background

The output is deterministic, so the committed PNGs can be checked against a fresh run.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

ACCENT = (0x2F, 0x6F, 0xAE)  # keep in step with accentColor in manifest.json
WHITE = (255, 255, 255)
SUPERSAMPLE = 4  # subsamples per pixel side, for smooth edges

Shape = Callable[[float, float], bool]


def rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        cx = min(max(x, x0 + r), x1 - r)
        cy = min(max(y, y0 + r), y1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    return inside


def rect(x0: float, y0: float, x1: float, y1: float) -> Shape:
    return lambda x, y: x0 <= x <= x1 and y0 <= y <= y1


def triangle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> Shape:
    def side(p, q, x, y):
        return (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])

    def inside(x: float, y: float) -> bool:
        d1, d2, d3 = side(a, b, x, y), side(b, c, x, y), side(c, a, x, y)
        negative = d1 < 0 or d2 < 0 or d3 < 0
        positive = d1 > 0 or d2 > 0 or d3 > 0
        return not (negative and positive)

    return inside


def union(*shapes: Shape) -> Shape:
    return lambda x, y: any(s(x, y) for s in shapes)


def minus(shape: Shape, *holes: Shape) -> Shape:
    return lambda x, y: shape(x, y) and not any(h(x, y) for h in holes)


def coverage(shape: Shape, px: int, py: int) -> float:
    n = SUPERSAMPLE
    hits = sum(shape(px + (i + 0.5) / n, py + (j + 0.5) / n) for i in range(n) for j in range(n))
    return hits / (n * n)


def png(width: int, height: int, pixels: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """An RGBA PNG: signature, IHDR, one zlib-compressed IDAT, IEND."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type: none
        for x in range(width):
            raw += bytes(pixels(x, y))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def color_icon() -> bytes:
    letters = union(
        rect(68, 70, 82, 112),  # I
        rect(92, 70, 124, 82),  # T, bar
        rect(101, 70, 115, 112),  # T, stem
    )
    bubble = union(
        rounded_rect(44, 52, 148, 128, 14),
        triangle((64, 124), (92, 124), (58, 150)),
    )
    mark = minus(bubble, letters)

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        a = coverage(mark, x, y)
        r, g, b = (round(w * a + c * (1 - a)) for w, c in zip(WHITE, ACCENT, strict=True))
        return r, g, b, 255

    return png(192, 192, pixel)


def outline_icon() -> bytes:
    ring = minus(rounded_rect(3, 5, 29, 22, 4), rounded_rect(5, 7, 27, 20, 2.5))
    tail = minus(triangle((8, 21), (14, 21), (7, 28)), rounded_rect(5, 7, 27, 20, 2.5))
    letters = union(
        rect(10, 10, 12, 17),  # I
        rect(14, 10, 22, 12),  # T, bar
        rect(17, 10, 19, 17),  # T, stem
    )
    mark = union(ring, tail, letters)

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        return 255, 255, 255, round(255 * coverage(mark, x, y))

    return png(32, 32, pixel)


def main() -> None:
    here = Path(__file__).resolve().parent
    (here / "color.png").write_bytes(color_icon())
    (here / "outline.png").write_bytes(outline_icon())
    print(f"wrote {here / 'color.png'} and {here / 'outline.png'}")


if __name__ == "__main__":
    main()
