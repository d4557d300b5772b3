"""Generators of hostile and malformed input: geometry and files (tests/test_hostile_input.py).

Everything is built in memory from a few parameters, so the corpus needs no stored binaries.
"""

import io
import json
import math
import struct
import zipfile
from functools import lru_cache

MiB = 1 << 20

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


def zeros_stream_zip(names: list[str], size: int, empty: tuple[str, ...] = ()) -> bytes:
    """A zip whose members each inflate to `size` zero bytes (about 1000:1), written in chunks, after
    the `empty` members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in empty:
            z.writestr(name, b"")
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


# --- big and hostile bodies for the memory cases (tests/hostile/cases.py) -----------------------------------


def feature_json(geometry: dict) -> bytes:
    feature = {
        "type": "Feature",
        "properties": {"kind": "playground", "name": "Sân chơi", "attributes": {"access": "public"}},
        "geometry": geometry,
    }
    return json.dumps(feature).encode()


def polygon_geojson_file(n: int) -> bytes:
    """A FeatureCollection of one playground whose ring has n vertices."""
    return geojson_file([polygon(many_vertex_polygon(n))])


def point_features(size: int | None = None, rows: int | None = None):
    """A GeoJSON FeatureCollection of distinct playground points, about `size` bytes or `rows`
    features, in chunks."""
    yield b'{"type": "FeatureCollection", "features": [\n'
    written, n, lines = 0, 0, []
    while (written < size) if rows is None else (n < rows):
        n += 1
        x, y = X0 + (n % 1000) * 1e-5, Y0 + (n // 1000) * 1e-5
        line = json.dumps(
            {
                "type": "Feature",
                "properties": {"kind": "playground", "name": f"Sân {n}", "access": "public"},
                "geometry": {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]},
            }
        )
        lines.append(("," if n > 1 else "") + line + "\n")
        written += len(lines[-1])
        if len(lines) == 10_000:
            yield "".join(lines).encode()
            lines = []
    yield ("".join(lines) + "]}\n").encode()


def csv_rows(size: int | None = None, rows: int | None = None):
    """A sites CSV of distinct playground points, about `size` bytes or `rows` rows, in chunks."""
    yield b"kind,name,access,lon,lat\n"
    written, n, lines = 0, 0, []
    while (written < size) if rows is None else (n < rows):
        n += 1
        lines.append(
            f"playground,Sân {n},public,{X0 + (n % 1000) * 1e-5:.7f},{Y0 + (n // 1000) * 1e-5:.7f}\n"
        )
        written += len(lines[-1])
        if len(lines) == 10_000:
            yield "".join(lines).encode()
            lines = []
    yield "".join(lines).encode()


def csv_one_line(size: int):
    """One line of `size` bytes with no newline, holding one 4-byte character: in Python that line
    is a str of 4 bytes a character."""
    yield "kind,name,access,lon,lat,🏊".encode()
    chunk = b"a" * MiB
    for _ in range(size // MiB):
        yield chunk


def shapefile_polygon_zip(vertices: int) -> bytes:
    """A zipped shapefile of one polygon with `vertices` vertices (the square, traced over and over).

    Repeated coordinates deflate about 1000:1, so a polygon of 3·10^7 vertices (480 MB of .shp, under
    the 512 MB unpack budget) arrives as a few hundred kB.
    """
    ring = square()
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    bbox = struct.pack("<4d", min(xs), min(ys), max(xs), max(ys))
    # One ring: the square's four corners repeated, closed on the first corner.
    corners = b"".join(struct.pack("<2d", *p) for p in ring[:4])
    laps, extra = divmod(vertices - 1, 4)
    content_len = 4 + 32 + 4 + 4 + 4 + 16 * vertices  # type, box, parts, points, part index, points
    shp_len = 100 + 8 + content_len

    def header(length: int) -> bytes:
        return (
            struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length // 2)
            + struct.pack("<2i", 1000, 5)
            + bbox
            + struct.pack("<4d", 0, 0, 0, 0)
        )

    dbf_fields = [(b"kind", 20), (b"name", 40), (b"access", 10)]
    VALUES = (b"playground", b"San", b"public")  # noqa: N806
    record_len = 1 + sum(w for _, w in dbf_fields)
    header_len = 32 + 32 * len(dbf_fields) + 1
    dbf = struct.pack("<B3BIHH20x", 3, 126, 5, 1, 1, header_len, record_len)
    for name, width in dbf_fields:
        dbf += name.ljust(11, b"\0") + b"C" + b"\0" * 4 + bytes([width, 0]) + b"\0" * 14
    dbf += b"\r" + b" " + b"".join(v.ljust(w) for v, (_, w) in zip(VALUES, dbf_fields, strict=True))
    dbf += b"\x1a"
    shx = header(100 + 8) + struct.pack(">2i", 50, content_len // 2)
    prj = (
        b'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
        b'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("layer.shp", "w", force_zip64=True) as out:
            out.write(header(shp_len))
            out.write(struct.pack(">2i", 1, content_len // 2))
            out.write(struct.pack("<i", 5) + bbox + struct.pack("<3i", 1, vertices, 0))
            lap = corners * 4096
            left = laps
            while left > 0:
                take = min(left, 4096)
                out.write(lap[: take * 64])
                left -= take
            out.write(corners[: extra * 16])
            out.write(struct.pack("<2d", *ring[0]))
        z.writestr("layer.shx", shx)
        z.writestr("layer.dbf", dbf)
        z.writestr("layer.prj", prj)
        z.writestr("layer.cpg", b"UTF-8")
    return buf.getvalue()


def many_members_zip(members: int) -> bytes:
    """A zip of a tiny shapefile plus `members` empty files: a central directory of that many entries."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for ext in (".shp", ".shx", ".dbf"):
            z.writestr("layer" + ext, b"")
        for n in range(members):
            z.writestr(f"junk/{n:08d}.txt", b"")
    return buf.getvalue()


def _xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


INCIDENT_HEADER = ["kind", "date", "age_band", "sex", "outcome", "source", "commune"]


SHARED_STRINGS_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_OPEN = (
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
)


def _with_shared_string(write_part) -> bytes:
    """A workbook with a header and one row whose 'source' cell is shared string 0, the part that
    write_part(stream) writes. openpyxl writes inline strings and no shared-strings part, and reads
    xl/sharedStrings.xml only where [Content_Types].xml declares it: both are added here."""
    base = _xlsx([INCIDENT_HEADER, ["drowning", "2026-05-01", "5-9", "male", "minor", "SOURCE", "12409"]])
    src = zipfile.ZipFile(io.BytesIO(base))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="'
                    + SHARED_STRINGS_TYPE
                    + b'"/></Types>',
                )
            elif info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b'<c r="F2" t="inlineStr"><is><t>SOURCE</t></is></c>', b'<c r="F2" t="s"><v>0</v></c>'
                )
                assert b't="s"' in data
            if info.filename != "xl/sharedStrings.xml":
                out.writestr(info, data)
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            write_part(part)
    return buf.getvalue()


def xlsx_shared_strings_bomb(unpacked: int) -> bytes:
    """A workbook whose shared-strings part inflates to `unpacked` bytes of one string, used in a cell."""

    def write(part):
        part.write(b'<?xml version="1.0"?>' + SST_OPEN + b"<si><t>")
        chunk = b"a" * MiB
        for _ in range(unpacked >> 20):
            part.write(chunk)
        part.write(b"</t></si></sst>")

    return _with_shared_string(write)


def xlsx_entity_bomb(levels: int = 9) -> bytes:
    """A 'billion laughs' shared-strings part: &a9; would expand to 10^9 'ha'."""
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, levels + 1)
    )
    laughs = (
        f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]>'.encode()
        + SST_OPEN
        + f"<si><t>&a{levels};</t></si></sst>".encode()
    )
    return _with_shared_string(lambda part: part.write(laughs))


def png_of(width: int, height: int, mode: str = "1", fmt: str = "PNG") -> bytes:
    """A black PNG (or JPEG) of width × height pixels: a few kB (mode "1") to a few hundred kB (RGB)
    for 40 Mpx."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, (width, height)).save(buf, fmt)
    return buf.getvalue()
