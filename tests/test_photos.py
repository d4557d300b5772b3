"""Photo checking and metadata stripping (inspections.photos): real images built with Pillow, no database."""

import ast
import hashlib
import io
import json
import random
import re
import struct
import zlib
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from inspections import photos
from inspections.photos import CleanPhoto, PhotoRejected, distance_m, photo_clean

ROOT = Path(__file__).resolve().parent.parent
LAI_CHAU = (103.4571, 22.3964)  # lon, lat of Lai Châu city
SIN_HO = (103.2411, 22.3606)


@pytest.fixture(autouse=True)
def english():
    # LANGUAGE_CODE is "vi"; the assertions below read the English messages.
    with translation.override("en"):
        yield


def dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return float(degrees), float(minutes), seconds


def make_exif(
    lon: float | None = LAI_CHAU[0],
    lat: float | None = LAI_CHAU[1],
    *,
    orientation: int | None = None,
    taken: str | None = "2025:09:14 08:30:00",
    offset: str | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretPhoneMaker"
    exif[ExifTags.Base.Model] = "SM-A546E"
    exif[ExifTags.Base.Artist] = "Nguyen Van Inspector"
    exif[ExifTags.Base.BodySerialNumber] = "SERIAL123456"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if lon is not None and lat is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[ExifTags.GPS.GPSLatitude] = dms(lat)
        gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps[ExifTags.GPS.GPSLongitude] = dms(lon)
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if taken:
        ifd[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    return exif


def two_colour(width: int, height: int) -> Image.Image:
    """Left half red, right half blue, so a rotation can be told apart from a flip."""
    im = Image.new("RGB", (width, height), (220, 0, 0))
    im.paste((0, 0, 220), (width // 2, 0, width, height))
    return im


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    out = BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def noisy(width: int, height: int) -> Image.Image:
    rng = random.Random(23)
    return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))


def phone_jpeg(**exif_args) -> bytes:
    return encode(
        two_colour(64, 32),
        "JPEG",
        exif=make_exif(**exif_args),
        xmp=b'<x:xmpmeta><rdf:Description Creator="Nguyen Van Inspector"/></x:xmpmeta>',
        comment="owner: Nguyen Van Inspector",
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        quality=95,
    )


def assert_no_metadata(photo: CleanPhoto) -> None:
    im = Image.open(BytesIO(photo.content))
    assert len(im.getexif()) == 0
    for key in (
        "exif",
        "xmp",
        "XML:com.adobe.xmp",
        "comment",
        "icc_profile",
        "Author",
        "Raw profile type exif",
    ):
        assert key not in im.info
    for needle in (b"Exif", b"SecretPhoneMaker", b"SERIAL123456", b"Inspector", b"xmpmeta", b"ftyp"):
        assert needle not in photo.content


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def rejected(data: bytes, **kwargs) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as info:
        photo_clean(data, **kwargs)
    return info.value


# Accepted photos


def test_phone_jpeg_is_rotated_positioned_and_stripped():
    original = phone_jpeg(orientation=6)
    assert Image.open(BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test input has GPS

    photo = photo_clean(original, filename="IMG_0001.jpg")

    assert (photo.content_type, photo.extension) == ("image/jpeg", ".jpg")
    # Stored 64 × 32; orientation 6 means "rotate 90° clockwise to display", so 32 × 64, red on top.
    assert (photo.width, photo.height) == (32, 64)
    im = Image.open(BytesIO(photo.content))
    assert (im.format, im.size) == ("JPEG", (32, 64))
    top, bottom = im.convert("RGB").getpixel((16, 4)), im.convert("RGB").getpixel((16, 60))
    assert top[0] > 180 > top[2] and bottom[2] > 180 > bottom[0]
    assert photo.exif_lon == pytest.approx(LAI_CHAU[0], abs=1e-4)
    assert photo.exif_lat == pytest.approx(LAI_CHAU[1], abs=1e-4)
    assert photo.taken_at == datetime(2025, 9, 14, 8, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert photo.sha256 == hashlib.sha256(photo.content).hexdigest()
    assert_no_metadata(photo)


def test_clean_photo_is_frozen():
    photo = photo_clean(phone_jpeg())
    with pytest.raises(AttributeError):
        photo.width = 1


def test_png_with_exif_and_text_chunks_is_stripped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Nguyen Van Inspector")
    im = Image.new("RGBA", (40, 30), (0, 128, 0, 200))
    original = encode(im, "PNG", exif=make_exif(orientation=1), pnginfo=info)

    photo = photo_clean(original, filename="screenshot.png")

    assert (photo.content_type, photo.extension, photo.width, photo.height) == ("image/png", ".png", 40, 30)
    assert photo.exif_lon == pytest.approx(LAI_CHAU[0], abs=1e-4)
    assert photo.exif_lat == pytest.approx(LAI_CHAU[1], abs=1e-4)
    cleaned = Image.open(BytesIO(photo.content))
    assert cleaned.mode == "RGBA" and cleaned.getpixel((5, 5)) == (0, 128, 0, 200)
    assert_no_metadata(photo)


def test_palette_png_with_transparency_keeps_it():
    im = Image.new("P", (20, 20), 1)
    im.putpalette([255, 255, 255, 200, 0, 0])
    photo = photo_clean(encode(im, "PNG", transparency=1))
    cleaned = Image.open(BytesIO(photo.content))
    assert cleaned.mode == "RGBA" and cleaned.getpixel((3, 3))[3] == 0
    assert "transparency" not in cleaned.info


def test_photo_without_exif():
    photo = photo_clean(encode(two_colour(64, 32), "JPEG"))
    assert (photo.width, photo.height) == (64, 32)
    assert photo.exif_lon is photo.exif_lat is photo.taken_at is None


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(-70.6693, -33.4489), (2.3522, 48.8566), (151.2093, -33.8688)],
)
def test_gps_hemispheres(lon, lat):
    photo = photo_clean(phone_jpeg(lon=lon, lat=lat))
    assert photo.exif_lon == pytest.approx(lon, abs=1e-4)
    assert photo.exif_lat == pytest.approx(lat, abs=1e-4)


def test_gps_zero_zero_means_no_fix():
    photo = photo_clean(phone_jpeg(lon=0.0, lat=0.0))
    assert photo.exif_lon is photo.exif_lat is None


def test_taken_at_uses_the_offset_tag_when_present():
    photo = photo_clean(phone_jpeg(taken="2025:09:14 01:30:00", offset="+00:00"))
    assert photo.taken_at == datetime(2025, 9, 14, 1, 30, tzinfo=UTC)
    photo = photo_clean(phone_jpeg(taken="2025:09:14 08:30:00", offset="+07:00"))
    assert photo.taken_at.utcoffset() == timedelta(hours=7)
    assert photo.taken_at == datetime(2025, 9, 14, 1, 30, tzinfo=UTC)


def test_unparseable_date_is_ignored():
    assert photo_clean(phone_jpeg(taken="    :  :     :  :  ")).taken_at is None


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_broken_exif_is_ignored_not_fatal():
    # An APP1 "Exif" segment whose IFD offset points far past its end.
    broken = b"Exif\x00\x00MM\x00\x2a\x7f\xff\xff\xff" + b"\x00" * 8
    photo = photo_clean(encode(two_colour(64, 32), "JPEG", exif=broken))
    assert (photo.width, photo.height) == (64, 32)
    assert photo.exif_lon is photo.exif_lat is photo.taken_at is None
    assert_no_metadata(photo)


def test_mpo_keeps_only_the_first_picture():
    # Multi-picture JPEGs (depth maps, Android gain maps) are still photos, not animations.
    first, second = two_colour(64, 32), Image.new("RGB", (64, 32), (0, 255, 0))
    data = encode(first, "MPO", save_all=True, append_images=[second], exif=make_exif())
    assert Image.open(BytesIO(data)).n_frames == 2

    photo = photo_clean(data)

    im = Image.open(BytesIO(photo.content))
    assert im.format == "JPEG" and getattr(im, "n_frames", 1) == 1
    assert im.getpixel((4, 16))[0] > 180
    assert photo.exif_lat == pytest.approx(LAI_CHAU[1], abs=1e-4)
    assert_no_metadata(photo)


def test_motion_photo_trailer_is_dropped():
    # Google/Samsung Motion Photos append an MP4 (with sound) after the JPEG's end marker.
    trailer = b"\x00\x00\x00\x18ftypmp42" + b"voices of the neighbours" * 10
    photo = photo_clean(phone_jpeg() + trailer)
    assert b"neighbours" not in photo.content
    assert_no_metadata(photo)


def test_content_decides_not_the_filename():
    png = encode(two_colour(32, 32), "PNG")
    photo = photo_clean(png, filename="IMG_0002.HEIC")
    assert (photo.content_type, photo.extension) == ("image/png", ".png")


# Rejected uploads


def test_empty():
    exc = rejected(b"", filename="photo.jpg")
    assert exc.code == "empty"
    assert str(exc) == "photo.jpg: the file is empty"


def test_filename_label_is_only_the_base_name():
    exc = rejected(b"", filename="C:\\Users\\thanh\\DCIM\\photo.jpg")
    assert exc.filename == "photo.jpg"
    assert str(exc).startswith("photo.jpg: ")


def test_over_the_default_size_limit():
    exc = rejected(b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024 - 2))
    assert exc.code == "too_large"
    assert str(exc) == "the file is 10.1 MB; the limit is 10 MB"


def test_over_a_custom_size_limit():
    data = encode(noisy(700, 700), "PNG")
    assert 1024 * 1024 < len(data) < 1.5 * 1024 * 1024
    exc = rejected(data, max_bytes=1024 * 1024)
    assert exc.code == "too_large"
    assert str(exc) == "the file is 1.5 MB; the limit is 1 MB"
    assert photo_clean(data, max_bytes=len(data)).width == 700


def test_text_file_named_jpg():
    exc = rejected(b"hello, this is not a photo\n", filename="photo.jpg")
    assert exc.code == "not_image"
    assert "not a JPEG or PNG image" in str(exc)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (None, "GIF"),
        (b"RIFF\x00\x01\x00\x00WEBPVP8 " + b"\x00" * 32, "WebP"),
        (b"BM" + b"\x00" * 60, "BMP"),
        (b"II*\x00" + b"\x00" * 60, "TIFF"),
        (b"%PDF-1.7\n" + b"\x00" * 60, "PDF"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 32, "AVIF"),
    ],
)
def test_other_formats_are_named(data, name):
    if data is None:
        data = encode(two_colour(32, 32), "GIF")
    exc = rejected(data)
    assert exc.code == "format"
    assert str(exc) == f"the file is in {name} format; only JPEG and PNG photos are accepted"


def test_animated_gif_is_rejected_as_gif():
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "blue")]
    exc = rejected(encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100))
    assert exc.code == "format" and "GIF" in str(exc)


@pytest.mark.parametrize(
    "ftyp",
    [
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic",
        b"\x00\x00\x00\x14ftypheix\x00\x00\x00\x00heix",
    ],
)
def test_heic(ftyp):
    exc = rejected(ftyp + b"\x00\x00\x00\x00meta" + b"\x00" * 100, filename="IMG_0003.jpg")
    assert exc.code == "heic"
    assert "HEIC" in str(exc) and '"Most compatible"' in str(exc)


def test_video():
    exc = rejected(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00" * 100, filename="IMG_0004.MOV")
    assert exc.code == "video"
    assert "video" in str(exc)


def test_truncated_jpeg():
    data = encode(noisy(200, 200), "JPEG", quality=90)
    exc = rejected(data[: len(data) * 6 // 10])
    assert exc.code == "corrupt"
    assert "damaged or incomplete" in str(exc)


def test_truncated_jpeg_is_refused_even_after_weasyprint_loosened_pillow():
    """WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import (found when the whole
    suite ran in one process: the PDF report test came first and a cut-off photo passed)."""
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # what `import weasyprint` does
    try:
        data = encode(noisy(200, 200), "JPEG", quality=90)
        assert rejected(data[: len(data) * 6 // 10]).code == "corrupt"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def test_truncated_png():
    data = encode(noisy(200, 200), "PNG")
    assert rejected(data[: len(data) // 2]).code == "corrupt"


def test_png_with_bad_crc():
    data = bytearray(encode(noisy(64, 64), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 40] ^= 0xFF
    assert rejected(bytes(data)).code == "corrupt"


def test_magic_bytes_alone():
    assert rejected(b"\xff\xd8\xff\xe0").code == "corrupt"
    assert rejected(b"\x89PNG\r\n\x1a\n").code == "corrupt"


def test_pixel_bomb_png_over_pillows_own_limit():
    # A real 16 × 16 PNG whose header claims 20000 × 20000 (400 megapixels): never decoded.
    data = bytearray(encode(Image.new("1", (16, 16)), "PNG"))
    ihdr = data.index(b"IHDR")
    body = struct.pack(">II", 20000, 20000) + bytes(data[ihdr + 12 : ihdr + 17])
    data[ihdr - 4 : ihdr + 21] = png_chunk(b"IHDR", body)
    exc = rejected(bytes(data))
    assert exc.code == "too_many_pixels"
    assert "too many pixels; the limit is 20 megapixels" in str(exc)  # a PNG's limit


def test_pixel_bomb_jpeg_header():
    data = bytearray(encode(Image.new("RGB", (16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 30000, 30000)
    assert rejected(bytes(data)).code == "too_many_pixels"


def test_over_our_pixel_limit_names_the_size():
    # 48 megapixels of a single bit: a few kilobytes on the wire.
    data = encode(Image.new("1", (8000, 6000)), "PNG")
    assert len(data) < 100_000
    exc = rejected(data)
    assert exc.code == "too_many_pixels"
    assert str(exc) == "the image is 8000 × 6000 pixels (48 megapixels); the limit is 20 megapixels"
    # A JPEG may have 40 megapixels, a PNG 20 (it cannot be decoded scaled down: memory).
    png = encode(Image.new("1", (6000, 4000)), "PNG")
    assert "(24 megapixels); the limit is 20 megapixels" in str(rejected(png))


def test_large_jpegs_are_decoded_and_stored_scaled_down():
    """Over 16 megapixels the JPEG decoder scales by 2 (or 4, 8) while decoding: the stored photo
    is smaller, its content the same picture (memory: a quarter of the pixels decoded)."""
    picture = Image.new("RGB", (5000, 3400), (200, 30, 30))
    picture.paste((20, 20, 220), (0, 0, 2500, 3400))  # left half blue
    clean = photo_clean(encode(picture, "JPEG"))
    assert (clean.width, clean.height) == (2500, 1700)
    stored = Image.open(io.BytesIO(clean.content))
    assert stored.size == (2500, 1700)
    left, right = stored.getpixel((600, 850)), stored.getpixel((1900, 850))
    assert left[2] > 180 and left[0] < 60 and right[0] > 160 and right[2] < 70
    # Up to 16 megapixels a JPEG keeps its size.
    assert photo_clean(encode(Image.new("RGB", (4000, 4000)), "JPEG")).width == 4000


def test_custom_pixel_limit():
    assert rejected(phone_jpeg(), max_pixels=1000).code == "too_many_pixels"
    assert photo_clean(phone_jpeg(), max_pixels=64 * 32).width == 64


def test_animated_png():
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "blue", "green")]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)
    exc = rejected(data)
    assert exc.code == "animated"
    assert "animated" in str(exc)


@pytest.mark.parametrize("size", [(4, 4), (1000, 15)])
def test_too_small(size):
    exc = rejected(encode(Image.new("RGB", size, "white"), "PNG"))
    assert exc.code == "too_small"
    assert str(exc) == (
        f"the image is only {size[0]} × {size[1]} pixels; each side must be at least 16 pixels"
    )


def test_messages_are_translated():
    with translation.override("vi"):
        exc = rejected(b"")
    table = json.loads((ROOT / "locale/vi/translations/inspections_photos.json").read_text("utf-8"))
    # Either the catalogue is compiled (Vietnamese) or not yet (English): never anything else.
    assert str(exc) in (table["the file is empty"], "the file is empty")


def test_every_message_has_a_vietnamese_translation():
    source = (ROOT / "inspections/photos.py").read_text("utf-8")
    msgids = {
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and isinstance(node.args[0], ast.Constant)
    }
    table = json.loads((ROOT / "locale/vi/translations/inspections_photos.json").read_text("utf-8"))
    assert len(msgids) >= 10
    assert msgids == set(table)
    placeholder = re.compile(r"%\(\w+\)s")
    for msgid, vi in table.items():
        assert vi and vi != msgid
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(vi)), msgid


# Distances


def test_distance_lai_chau_to_sin_ho():
    assert distance_m(*LAI_CHAU, *SIN_HO) == pytest.approx(22_560, rel=0.005)
    assert distance_m(*LAI_CHAU, *SIN_HO) == distance_m(*SIN_HO, *LAI_CHAU)


def test_distance_reference_values():
    one_degree = 2 * 3.141592653589793 * photos.EARTH_RADIUS_M / 360
    assert distance_m(103.0, 22.0, 103.0, 23.0) == pytest.approx(one_degree)
    assert distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(one_degree)
    # Hanoi to Ho Chi Minh City, about 1,137 km on the WGS84 ellipsoid.
    assert distance_m(105.8342, 21.0278, 106.6297, 10.8231) == pytest.approx(1_137_000, rel=0.005)
    assert distance_m(*LAI_CHAU, *LAI_CHAU) == 0.0
    assert distance_m(0.0, 0.0, 180.0, 0.0) == pytest.approx(one_degree * 180)
