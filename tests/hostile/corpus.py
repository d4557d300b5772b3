"""Generators of hostile and malformed input: geometry and files (tests/test_hostile_input.py).

Everything is built in memory from a few parameters, so the corpus needs no stored binaries.
"""

import io
import json
import math
import struct
import zipfile
from functools import lru_cache

# A small square in Phường Đoàn Kết (Lai Châu city), about 100 m a side.
X0, Y0, D = 103.4571, 22.3964, 0.001


def square(clockwise: bool = False) -> list[list[float]]:
    ring = [[X0, Y0], [X0 + D, Y0], [X0 + D, Y0 + D], [X0, Y0 + D], [X0, Y0]]
    return ring[::-1] if clockwise else ring


def polygon(ring) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


def many_vertex_polygon(n: int) -> list[list[float]]:
    """A closed, valid polygon (a circle of radius D/2) with n vertices around the square's corner."""
    return [list(p) for p in _circle(n)]


@lru_cache(maxsize=4)
def _circle(n: int) -> tuple[tuple[float, float], ...]:
    r = D / 2
    ring = [
        (round(X0 + r * math.cos(2 * math.pi * i / n), 9), round(Y0 + r * math.sin(2 * math.pi * i / n), 9))
        for i in range(n)
    ]
    ring.append(ring[0])
    return tuple(ring)


# (case id, GeoJSON geometry member as the client sends it). Each must be refused with a reason
# naming the geometry, except where ACCEPTED says otherwise.
BAD_GEOMETRIES: dict[str, object] = {
    "self-intersection (bow tie)": polygon(
        [[X0, Y0], [X0 + D, Y0 + D], [X0 + D, Y0], [X0, Y0 + D], [X0, Y0]]
    ),
    "unclosed ring": {"type": "Polygon", "coordinates": [square()[:-1]]},
    "ring of three points": polygon([[X0, Y0], [X0 + D, Y0], [X0, Y0]]),
    "hole outside the shell": {
        "type": "Polygon",
        "coordinates": [square(), [[X0 + 1, Y0], [X0 + 1.001, Y0], [X0 + 1.001, Y0 + 0.001], [X0 + 1, Y0]]],
    },
    # json.dumps writes Infinity: the API's strict JSON refuses the body, files get a row error.
    "infinity (1e999)": {"type": "Point", "coordinates": [1e999, Y0]},
    "longitude out of range": {"type": "Point", "coordinates": [203.45, 22.39]},
    "latitude out of range": {"type": "Point", "coordinates": [103.45, 122.39]},
    "projected metres without a CRS": {"type": "Point", "coordinates": [500000.0, 2475000.0]},
    "empty point": {"type": "Point", "coordinates": []},
    "empty polygon": {"type": "Polygon", "coordinates": []},
    "empty multipolygon": {"type": "MultiPolygon", "coordinates": []},
    "empty geometry collection": {"type": "GeometryCollection", "geometries": []},
    "geometry collection": {
        "type": "GeometryCollection",
        "geometries": [{"type": "Point", "coordinates": [X0, Y0]}],
    },
    "coordinates are text": {"type": "Point", "coordinates": ["103.45", "x"]},
    "coordinates are an object": {"type": "Point", "coordinates": {"x": 1}},
    "one coordinate": {"type": "Point", "coordinates": [X0]},
    "unknown type": {"type": "Circle", "coordinates": [X0, Y0]},
    "geometry is a number": 42,
    "outside the province": {"type": "Point", "coordinates": [105.85, 21.03]},
}
ACCEPTED_GEOMETRIES: dict[str, object] = {
    # Stored 2-D: heights are dropped.
    "3-D point": {"type": "Point", "coordinates": [X0, Y0, 1250.0]},
    "3-D polygon": polygon([[x, y, 900.0] for x, y in square()]),
    # Shapefiles and many GIS tools write clockwise outer rings: accepted, stored counter-clockwise.
    "clockwise outer ring": polygon(square(clockwise=True)),
}


def deep_json(depth: int) -> str:
    return (
        '{"type": "Feature", "properties": {"kind": "playground"}, "geometry": '
        + "[" * depth
        + "]" * depth
        + "}"
    )


# --- files -------------------------------------------------------------------------------------------------


def geojson_file(geometries: list, kind: str = "playground", attributes=None) -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"kind": kind, "name": f"Sân {n}", **(attributes or {"access": "public"})},
            "geometry": g,
        }
        for n, g in enumerate(geometries, 1)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def zip_of(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def zeros_stream_zip(names: list[str], size: int) -> bytes:
    """A zip whose members each inflate to `size` zero bytes (about 1000:1), written in chunks."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in names:
            with z.open(name, "w", force_zip64=True) as out:
                chunk = b"\0" * (1 << 20)
                left = size
                while left > 0:
                    out.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)
    return buf.getvalue()


def overlapping_zip(name_size: dict[str, int]) -> bytes:
    """A 'non-recursive' zip bomb: several central-directory entries share one compressed stream.

    Every entry names the same local file header and data, so the archive is small but each
    entry inflates fully; unpacked sizes add up across entries.
    """
    payload_size = max(name_size.values())
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = b""
    chunk = b"\0" * (1 << 20)
    left = payload_size
    while left > 0:
        data += comp.compress(chunk[: min(left, len(chunk))])
        left -= len(chunk)
    data += comp.flush()
    crc = 0
    left = payload_size
    while left > 0:
        crc = zlib.crc32(chunk[: min(left, len(chunk))], crc)
        left -= len(chunk)
    first = next(iter(name_size))
    fname = first.encode()
    local = (
        struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), payload_size, len(fname), 0)
        + fname
    )
    body = local + data
    central = b""
    for name in name_size:
        n = name.encode()
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(data),
                payload_size,
                len(n),
                0,
                0,
                0,
                0,
                0,
                0,
            )
            + n
        )
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(name_size), len(name_size), len(central), len(body), 0
    )
    return body + central + end
