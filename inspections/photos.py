"""Checking and cleaning hazard photos uploaded from inspectors' phones.

Everything here works on bytes and touches no model, so an upload view, an import job or a
management command can all call it. The bytes are judged by their content alone: file names and
content types come from the phone and are often wrong (a HEIC named .jpg, a screenshot named
.jpeg). What is stored is a fresh re-encoding of the pixels, so nothing the phone wrote into the
file (GPS position, owner name, device serial, a Motion Photo video appended after the JPEG)
reaches storage; the GPS position and capture time are returned separately for the caller to use.
"""

import contextlib
import hashlib
import math
import re
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from io import BytesIO
from pathlib import PurePath

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageFile, ImageOps

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without LittleCMS: photos then keep their raw values.
    ImageCms = None

MB = 1024 * 1024
# JPEGs larger than this are decoded and stored scaled down by the decoder (photo_clean).
STORE_MAX_PIXELS = 16_000_000
MIN_SIDE = 16
JPEG_QUALITY = 85
EARTH_RADIUS_M = 6_371_008.8  # WGS84 mean radius R1 = (2a + b) / 3

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# ISO-BMFF brands (bytes 8-12 of the 'ftyp' box, then the compatible brands) of HEIF stills.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
# Other formats phones and computers produce, named so the message can say what was sent.
_OTHER_FORMATS = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)
# Pillow raises far more than OSError on hostile input (SyntaxError for broken PNG chunks,
# struct.error for short headers, ValueError for oversized text chunks, ...); MemoryError is
# deliberately absent so that a server short of memory is not reported as a bad photo.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    struct.error,
)
_OFFSET_RE = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


class PhotoRejected(Exception):
    """The upload is not a photo we can store; str() is a translated sentence for the inspector.

    ``code`` is a stable identifier for API clients and tests: empty, too_large, heic, video,
    format, not_image, corrupt, too_many_pixels, too_small, animated.
    """

    def __init__(self, reason: str, *, code: str, filename: str = ""):
        self.reason = reason
        self.code = code
        self.filename = filename
        super().__init__(f"{filename}: {reason}" if filename else reason)


@dataclass(frozen=True)
class CleanPhoto:
    content: bytes
    content_type: str  # "image/jpeg" or "image/png"
    extension: str  # ".jpg" or ".png", with the dot, like mimetypes.guess_extension
    width: int
    height: int
    sha256: str  # hex digest of ``content``
    exif_lon: float | None
    exif_lat: float | None
    taken_at: datetime | None  # aware; phones without an offset tag are taken to be on TIME_ZONE


def photo_clean(
    data: bytes,
    *,
    filename: str = "",
    max_bytes: int = 10 * MB,
    max_pixels: int = 40_000_000,
    max_png_pixels: int = 20_000_000,
) -> CleanPhoto:
    """Check an uploaded photo and re-encode it without metadata; raise PhotoRejected if unusable.

    ``filename`` is only used to label the error message; the content decides everything.

    Memory: a decoded photo takes 3 bytes a pixel and the clean copy as much again. A JPEG over
    STORE_MAX_PIXELS is decoded straight at half (or a quarter…) of its width and height by the
    JPEG decoder's own scaling, and stored so: a 40-megapixel photo costs 30 MB, not 120 MB, and
    10 megapixels are ample evidence. A PNG cannot be decoded scaled, so its limit is lower.
    """
    if _sniff_png(data):
        max_pixels = min(max_pixels, max_png_pixels)
    # Only the last component, and not too much of it: it ends up in a message shown back.
    label = PurePath(filename.replace("\\", "/")).name[:100] if filename else ""

    def reject(reason: str, code: str) -> PhotoRejected:
        return PhotoRejected(reason, code=code, filename=label)

    if not data:
        raise reject(_("the file is empty"), "empty")
    if len(data) > max_bytes:
        raise reject(
            _("the file is %(size)s MB; the limit is %(limit)s MB")
            % {"size": _megabytes(len(data), round_up=True), "limit": _megabytes(max_bytes)},
            "too_large",
        )
    kind = _sniff(data, reject)
    # Pillow's JPEG opener hands back an MpoImageFile for multi-picture JPEGs.
    open_as, pil_formats = {"jpeg": ("JPEG", ("JPEG", "MPO")), "png": ("PNG", ("PNG",))}[kind]

    try:
        with Image.open(BytesIO(data), formats=[open_as]) as im:
            if im.format not in pil_formats:
                raise reject(_corrupt_message(), "corrupt")
            width, height = im.size
            if width * height > max_pixels:
                raise reject(
                    _(
                        "the image is %(width)s × %(height)s pixels (%(mp)s megapixels); "
                        "the limit is %(limit)s megapixels"
                    )
                    % {
                        "width": width,
                        "height": height,
                        "mp": _megapixels(width * height),
                        "limit": _megapixels(max_pixels),
                    },
                    "too_many_pixels",
                )
            if width < MIN_SIDE or height < MIN_SIDE:
                raise reject(
                    _(
                        "the image is only %(width)s × %(height)s pixels; "
                        "each side must be at least %(min)s pixels"
                    )
                    % {"width": width, "height": height, "min": MIN_SIDE},
                    "too_small",
                )
            # An MPO (and an Android "Ultra HDR" JPEG) is one photo plus hidden extra pictures
            # such as depth or gain maps: keep the first picture, as every viewer shows it.
            if kind == "png" and getattr(im, "n_frames", 1) > 1:
                raise reject(_("animated images are not accepted; send a single photo"), "animated")
            im.verify()
        # verify() leaves the image unusable, and it checks PNG CRCs but not JPEG scan data,
        # which only a full decode reaches; a cut-off upload fails here.
        # Pillow's LOAD_TRUNCATED_IMAGES is process-wide and libraries flip it (WeasyPrint sets it
        # on import, so after the first PDF report a cut-off photo would pass): insist here.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        with Image.open(BytesIO(data), formats=[open_as]) as im:
            if kind == "jpeg" and width * height > STORE_MAX_PIXELS:
                scale = 2
                while width * height > STORE_MAX_PIXELS * scale * scale and scale < 8:
                    scale *= 2
                im.draft(im.mode, (math.ceil(width / scale), math.ceil(height / scale)))
            im.load()
            exif_lon, exif_lat, taken_at = _read_exif(im)
            cleaned = _strip(im, kind)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow refuses by itself before we see the size when an image is over twice its own
        # limit, and only warns (an exception under -W error) between its limit and twice it.
        raise reject(
            _("the image has too many pixels; the limit is %(limit)s megapixels")
            % {"limit": _megapixels(max_pixels)},
            "too_many_pixels",
        ) from exc
    except _DECODE_ERRORS as exc:
        raise reject(_corrupt_message(), "corrupt") from exc

    out = BytesIO()
    if kind == "jpeg":
        cleaned.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        cleaned.save(out, "PNG", optimize=True)
    content = out.getvalue()
    return CleanPhoto(
        content=content,
        content_type=f"image/{kind}",
        extension=".jpg" if kind == "jpeg" else ".png",
        width=cleaned.width,
        height=cleaned.height,
        sha256=hashlib.sha256(content).hexdigest(),
        exif_lon=exif_lon,
        exif_lat=exif_lat,
        taken_at=taken_at,
    )


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS84 points (within ~0.5 % of the ellipsoid)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    # min() because rounding can push h a hair above 1 for antipodal points.
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def _corrupt_message() -> str:
    return _("the image is damaged or incomplete (the upload may have been cut off); please send it again")


def _megabytes(size: int, *, round_up: bool = False) -> str:
    # Rounding the size up keeps "10.0 MB; the limit is 10.0 MB" from ever being shown.
    tenths = size * 10 / MB
    tenths = math.ceil(tenths) if round_up else math.floor(tenths)
    return number_format(tenths / 10, decimal_pos=0 if tenths % 10 == 0 else 1)


def _megapixels(pixels: int) -> str:
    value = pixels / 1_000_000
    return number_format(value, decimal_pos=0 if value == int(value) else 1)


def _sniff_png(data: bytes) -> bool:
    return data.startswith(_PNG_MAGIC)


def _sniff(data: bytes, reject) -> str:
    if data.startswith(_JPEG_MAGIC):
        return "jpeg"
    if data.startswith(_PNG_MAGIC):
        return "png"
    if data[4:8] == b"ftyp":
        box_size = int.from_bytes(data[:4], "big")
        major = data[8:12]
        compatible = {data[i : i + 4] for i in range(16, min(box_size, len(data), 256) - 3, 4)}
        if major in _AVIF_BRANDS or (major in {b"mif1", b"msf1"} and compatible & _AVIF_BRANDS):
            raise reject(_format_message("AVIF"), "format")
        if major in _HEIF_BRANDS or compatible & _HEIF_BRANDS:
            raise reject(
                _(
                    "the photo is in HEIC/HEIF format, which is not accepted: set the phone camera format "
                    'to "Most compatible" (JPEG) and take the photo again, or send the photo as JPEG'
                ),
                "heic",
            )
        # Any other ISO-BMFF file is an MP4/MOV/3GP video (or a Live Photo's video half).
        raise reject(_("the file is a video, not a photo"), "video")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        raise reject(_format_message("WebP"), "format")
    for magic, name in _OTHER_FORMATS:
        if data.startswith(magic):
            raise reject(_format_message(name), "format")
    raise reject(
        _("the file is not a JPEG or PNG image (its content was checked, not its name)"), "not_image"
    )


def _format_message(name: str) -> str:
    return _("the file is in %(format)s format; only JPEG and PNG photos are accepted") % {"format": name}


def _read_exif(im: Image.Image) -> tuple[float | None, float | None, datetime | None]:
    # EXIF is written by thousands of phone and app firmwares, many of them badly; a photo with
    # a broken tag is still a good photo, so any failure here just means "no position/time".
    try:
        exif = im.getexif()
    except Exception:
        return None, None, None
    try:
        lon, lat = _gps_position(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:
        lon = lat = None
    try:
        taken_at = _taken_at(exif.get_ifd(ExifTags.IFD.Exif))
    except Exception:
        taken_at = None
    return lon, lat, taken_at


def _gps_position(gps: dict) -> tuple[float | None, float | None]:
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S")
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W")
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None, None
    # Some phones write 0/0 when they have no fix yet; no inspection happens in the Gulf of Guinea.
    if lat == 0 and lon == 0:
        return None, None
    return lon, lat


def _degrees(value, ref, positive: str, negative: str) -> float | None:
    if value is None:
        return None
    parts = [float(v) for v in value] if isinstance(value, tuple | list) else [float(value)]
    # Degrees, minutes, seconds; a few writers give decimal degrees or degrees + decimal minutes.
    if not 1 <= len(parts) <= 3 or any(not math.isfinite(p) or p < 0 for p in parts):
        return None
    degrees = sum(p / 60**i for i, p in enumerate(parts))
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    ref = (ref or "").strip("\x00 ").upper()[:1]
    if ref == negative:
        return -degrees
    # A missing ref is read as north/east, which is where all of Vietnam is.
    return degrees if ref in ("", positive) else None


def _taken_at(exif_ifd: dict) -> datetime | None:
    raw = exif_ifd.get(ExifTags.Base.DateTimeOriginal)
    if not raw:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    text = str(raw).strip("\x00 ")[:19]
    taken = None
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            taken = datetime.strptime(text, fmt)  # made aware below
            break
        except ValueError:
            continue
    if taken is None:
        return None
    offset = exif_ifd.get(ExifTags.Base.OffsetTimeOriginal)
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    match = _OFFSET_RE.match(str(offset or "").strip("\x00 "))
    if match:
        sign = -1 if match[1] == "-" else 1
        delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
        return taken.replace(tzinfo=dt_timezone(sign * delta))
    # The phone clock shows local time, and the inspectors' phones are in Vietnam.
    return timezone.make_aware(taken, timezone.get_default_timezone())


def _strip(im: Image.Image, kind: str) -> Image.Image:
    """A new image holding only the upright pixels: no EXIF, XMP, ICC, comments or text chunks."""
    # A broken orientation tag leaves the pixels as stored rather than losing the photo.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(im, in_place=True)
    im = _to_srgb(im)
    if kind == "jpeg":
        if im.mode not in ("L", "RGB"):
            im = im.convert("RGB")
    else:
        has_alpha = "transparency" in im.info or im.mode in ("PA", "LA", "RGBA")
        if im.mode in ("P", "PA"):
            im = im.convert("RGBA" if has_alpha else "RGB")
        elif "transparency" in im.info and im.mode in ("1", "L", "RGB"):
            im = im.convert("LA" if im.mode != "RGB" else "RGBA")
        elif im.mode not in ("1", "L", "LA", "I", "I;16", "RGB", "RGBA"):
            im = im.convert("RGBA" if has_alpha else "RGB")
    # Pillow's encoders copy some of im.info on their own (JPEG comments, PNG ICC profile and
    # transparency), so a blank image is safer than remembering to switch each one off.
    fresh = Image.new(im.mode, im.size)
    fresh.paste(im)
    return fresh


def _to_srgb(im: Image.Image) -> Image.Image:
    # iPhones tag their JPEGs Display P3; dropping the profile without converting would
    # wash out the colours, so convert to sRGB, which is what an untagged image means.
    icc = im.info.get("icc_profile")
    if not icc or ImageCms is None or im.mode not in ("RGB", "CMYK"):
        return im
    try:
        source = ImageCms.ImageCmsProfile(BytesIO(icc))
        return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im
