"""EXIF, XMP and IPTC fields people search and credit by, read with Pillow.

ExifTool is the reference reader; tests compare these fields with its output. Reading
in-process keeps ingest fast (no subprocess per file).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PIL import ExifTags, Image, IptcImagePlugin

_IFD = ExifTags.IFD
_T = ExifTags.Base
_GPS = ExifTags.GPS


def read_metadata(im: Image.Image) -> dict[str, Any]:
    """A flat, JSON-friendly dict; absent fields are left out."""
    meta: dict[str, Any] = {}
    exif = _exif(im)
    xmp = _xmp(im)
    iptc = _iptc(im)
    meta.update({k: v for k, v in exif.items() if v not in (None, "", [])})
    for key in ("title", "description", "creator", "copyright"):
        value = xmp.get(key) or iptc.get(key) or exif.get(f"exif_{key}")
        if value:
            meta[key] = value
    keywords = list(dict.fromkeys([*xmp.get("keywords", []), *iptc.get("keywords", [])]))
    if keywords:
        meta["keywords"] = keywords
    for key in ("exif_description", "exif_creator", "exif_copyright"):
        meta.pop(key, None)
    return meta


def _exif(im: Image.Image) -> dict[str, Any]:
    try:
        exif = im.getexif()
    except Exception:  # a damaged EXIF block must not lose the image
        return {}
    if not exif:
        return {}
    sub = _safe_ifd(exif, _IFD.Exif)
    out: dict[str, Any] = {
        "camera_make": _text(exif.get(_T.Make)),
        "camera_model": _text(exif.get(_T.Model)),
        "orientation": exif.get(_T.Orientation),
        "lens_make": _text(sub.get(_T.LensMake)),
        "lens_model": _text(sub.get(_T.LensModel)),
        "captured_at": _exif_datetime(
            sub.get(_T.DateTimeOriginal) or exif.get(_T.DateTime), sub.get(_T.OffsetTimeOriginal)
        ),
        "iso": _number(sub.get(_T.ISOSpeedRatings)),
        "f_number": _number(sub.get(_T.FNumber)),
        "exposure_time": _number(sub.get(_T.ExposureTime)),
        "focal_length_mm": _number(sub.get(_T.FocalLength)),
        "exif_description": _text(exif.get(_T.ImageDescription)),
        "exif_creator": _text(exif.get(_T.Artist)),
        "exif_copyright": _text(exif.get(_T.Copyright)),
    }
    gps = _gps(_safe_ifd(exif, _IFD.GPSInfo))
    if gps:
        out["gps"] = gps
    return {k: v for k, v in out.items() if v is not None}


def _safe_ifd(exif: Image.Exif, ifd: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(ifd))
    except Exception:
        return {}


def _gps(gps: dict[int, Any]) -> dict[str, float] | None:
    lat, lon = gps.get(_GPS.GPSLatitude), gps.get(_GPS.GPSLongitude)
    if not lat or not lon:
        return None
    try:
        out = {
            "latitude": _dms(lat, gps.get(_GPS.GPSLatitudeRef, "N"), "S"),
            "longitude": _dms(lon, gps.get(_GPS.GPSLongitudeRef, "E"), "W"),
        }
        alt = gps.get(_GPS.GPSAltitude)
        if alt is not None:
            below = gps.get(_GPS.GPSAltitudeRef) in (1, b"\x01")
            out["altitude_m"] = round(-float(alt) if below else float(alt), 2)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return out


def _dms(value: Any, ref: Any, negative_ref: str) -> float:
    d, m, s = (float(x) for x in value)
    decimal = d + m / 60 + s / 3600
    ref_text = ref.decode() if isinstance(ref, bytes) else str(ref)
    return round(-decimal if ref_text.strip().upper() == negative_ref else decimal, 7)


def _exif_datetime(value: Any, offset: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    try:
        parsed = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    iso = parsed.isoformat()
    off = _text(offset)
    return f"{iso}{off}" if off and len(off) == 6 else iso


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "").strip()
    return text or None


def _number(value: Any) -> float | None:
    if isinstance(value, tuple):
        value = value[0] if value else None
    try:
        return round(float(value), 6) if value is not None else None
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _xmp(im: Image.Image) -> dict[str, Any]:
    try:
        doc = im.getxmp()
    except Exception:
        return {}
    desc = doc.get("xmpmeta", {}).get("RDF", {}).get("Description", {})
    descs = desc if isinstance(desc, list) else [desc]
    out: dict[str, Any] = {}
    for d in descs:
        if not isinstance(d, dict):
            continue
        for key, field in (
            ("title", "title"),
            ("description", "description"),
            ("copyright", "rights"),
        ):
            value = _xmp_first(d.get(field))
            if value and key not in out:
                out[key] = value
        creators = _xmp_list(d.get("creator"))
        if creators and "creator" not in out:
            out["creator"] = ", ".join(creators)
        out.setdefault("keywords", []).extend(_xmp_list(d.get("subject")))
    return out


def _xmp_list(node: Any) -> list[str]:
    """Values of an rdf:Bag/Seq/Alt (or a bare value)."""
    if node is None:
        return []
    if isinstance(node, str):
        return [node.strip()] if node.strip() else []
    if isinstance(node, list):
        return [v for item in node for v in _xmp_list(item)]
    if isinstance(node, dict):
        for container in ("Bag", "Seq", "Alt"):
            if container in node:
                return _xmp_list(node[container].get("li") if node[container] else None)
        if "text" in node:
            return _xmp_list(node["text"])
        if "li" in node:
            return _xmp_list(node["li"])
    return []


def _xmp_first(node: Any) -> str | None:
    values = _xmp_list(node)
    return values[0] if values else None


_IPTC_FIELDS = {
    (2, 5): "title",
    (2, 120): "description",
    (2, 80): "creator",
    (2, 116): "copyright",
}


def _iptc(im: Image.Image) -> dict[str, Any]:
    try:
        info = IptcImagePlugin.getiptcinfo(im)
    except Exception:
        return {}
    if not info:
        return {}
    out: dict[str, Any] = {}
    for key, name in _IPTC_FIELDS.items():
        values = _iptc_values(info.get(key))
        if values:
            out[name] = ", ".join(values) if name == "creator" else values[0]
    keywords = _iptc_values(info.get((2, 25)))
    if keywords:
        out["keywords"] = keywords
    return out


def _iptc_values(raw: Any) -> list[str]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        try:
            text = item.decode("utf-8")
        except UnicodeDecodeError:
            text = item.decode("latin-1")
        if text.strip():
            out.append(text.strip())
    return out
