"""EXIF for an exported photo: the source's metadata, made true of the new pixels and made to fit.

The pixels are already upright and may have a new size, so the orientation is reset to 1 and
the EXIF pixel dimensions are set to the image's; the embedded thumbnail (it would show the
unedited photo) is not written. A JPEG holds EXIF in one APP1 segment of at most 64 KB, and
Pillow refuses to save a larger block, which used to lose the whole export: a block too large
is trimmed (maker notes, XMP, comments first; then all but the descriptive basics) or dropped,
with a warning, and the photo is always written.
"""

from __future__ import annotations

from PIL import Image

ORIENTATION_TAG = 0x0112
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
EXIF_WIDTH, EXIF_HEIGHT = 0xA002, 0xA003

#: Pillow's limit for a JPEG's EXIF bytes (the APP1 payload after the segment length).
JPEG_EXIF_MAX = 65533

#: The usual owners of a big EXIF block: maker notes, user comment, XMP, PrintIM, IPTC, ICC copy.
BULKY_TAGS = {EXIF_IFD: (0x927C, 0x9286), None: (0x02BC, 0xC4A5, 0x83BB, 0x8773)}

#: What is kept when even that is too large: camera, lens, time, exposure, orientation, GPS.
BASIC_TAGS = {
    None: (0x010F, 0x0110, 0x0112, 0x0131, 0x0132, 0x013B, 0x8298),  # make, model, orientation, software, date, artist, copyright
    EXIF_IFD: (0x829A, 0x829D, 0x8827, 0x9003, 0x9004, 0x920A, 0xA002, 0xA003, 0xA434),  # exposure, f, ISO, dates, focal length, size, lens
}


def export_exif(raw: bytes, width: int, height: int, fmt: str) -> tuple[bytes | None, list[str]]:
    """(EXIF bytes to write, or None; warnings) for an image of ``width``×``height`` in ``fmt``."""
    try:
        exif = Image.Exif()
        exif.load(raw)
        exif[ORIENTATION_TAG] = 1
        ifd = exif.get_ifd(EXIF_IFD)
        if EXIF_WIDTH in ifd:
            ifd[EXIF_WIDTH] = width
        if EXIF_HEIGHT in ifd:
            ifd[EXIF_HEIGHT] = height
        data = exif.tobytes()  # IFD0 + its sub-IFDs; the thumbnail IFD is not written
    except Exception:  # corrupt EXIF is dropped, never a reason to fail an export
        return None, ["the source's EXIF is unreadable; exported without it"]
    if fmt != "JPEG" or _fits(data):
        return data, []
    size = len(data)
    for keep in (_without_bulky, _basics_only):
        try:
            data = keep(exif).tobytes()
        except Exception:
            break
        if _fits(data):
            return data, [f"EXIF trimmed to {len(data) / 1024:.1f} KB (was {size / 1024:.1f} KB; a JPEG holds at most 64 KB)"]
    return None, [f"EXIF dropped: {size / 1024:.1f} KB does not fit a JPEG's 64 KB"]


def _fits(data: bytes) -> bool:
    return len(data) + (0 if data.startswith(b"Exif") else 6) <= JPEG_EXIF_MAX


def _without_bulky(exif: Image.Exif) -> Image.Exif:
    for tag in BULKY_TAGS[None]:
        exif.pop(tag, None)
    ifd = exif.get_ifd(EXIF_IFD)
    for tag in BULKY_TAGS[EXIF_IFD]:
        ifd.pop(tag, None)
    return exif


def _basics_only(exif: Image.Exif) -> Image.Exif:
    out = Image.Exif()
    for tag in BASIC_TAGS[None]:
        if tag in exif and _small(exif[tag]):
            out[tag] = exif[tag]
    ifd, kept = exif.get_ifd(EXIF_IFD), {}
    for tag in BASIC_TAGS[EXIF_IFD]:
        if tag in ifd and _small(ifd[tag]):
            kept[tag] = ifd[tag]
    if kept:
        out[EXIF_IFD] = kept  # a dict is written as the sub-IFD
    gps = exif.get_ifd(GPS_IFD)
    if gps and all(_small(v) for v in gps.values()):
        out[GPS_IFD] = dict(gps)
    return out


def _small(value) -> bool:
    return len(value) <= 256 if isinstance(value, (bytes, str, tuple)) else True
