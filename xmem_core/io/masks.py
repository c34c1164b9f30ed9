"""Index masks on disk: read palette / grayscale / RGB masks as H×W uint8 object ids; write DAVIS palette PNGs.

Reading rules (``read_mask``). A colour or grey level is "solid" when some pixel of it has its whole 3×3
neighbourhood in the same colour; anti-aliased and blurred edges have (almost) no solid pixels.

* palette ("P") PNG: the pixel indices are the object ids. 255 (DAVIS's "void" border) is background when the
  mask also holds other ids. A palette image using more than ``MAX_OBJECTS`` indices with non-DAVIS colours is a
  quantised colour image and follows the RGB rules.
* grayscale ("L", "I;16", "1", "F"): when every level is solid it is an id image: {0, v} with v > 32 is a binary
  mask (object 1), up to ``MAX_OBJECTS`` levels are ids ({0, 2} stays id 2; 255 beside other ids is void), and
  16-bit ids above 255 are renumbered 1..n (at most ``MAX_IDS``). Otherwise (soft / anti-aliased) every level is
  snapped to the nearest dominant level (see ``_dominant``); ids are the dominant levels in order.
* RGB / RGBA: grey images follow the grayscale rules; when every non-black colour is solid, each colour is an object
  (black is background, DAVIS palette colours keep their palette index, others take the next free ids; more than
  ``MAX_IDS`` colours are refused with the count). Otherwise colours are snapped to the dominant ones (solid,
  not noise, not a blend of two stronger ones), which keep the id of the DAVIS colour they are near. An RGBA image
  whose colour is constant but whose alpha varies is read through its alpha channel.

Whatever is not read verbatim is reported in ``notes`` ("mask had 129 colours; read as 1 object (DAVIS colour 1)
after snapping anti-aliased edges").
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from xmem_core.io.atomic import atomic_write_bytes

__all__ = ["DAVIS_PALETTE", "MaskError", "read_mask", "write_mask", "encode_mask_png", "davis_palette", "MAX_OBJECTS"]

#: a grayscale index image has at most this many ids (more grey levels are soft / anti-aliased edges)
MAX_OBJECTS = 32
#: the most objects a mask can hold (ids are uint8; the engine takes 1..255)
MAX_IDS = 255
#: DAVIS's "void" label (uncertain border pixels): background when a mask also holds real ids
VOID = 255
#: colours (RGB distance) or grey levels this close are one colour (compression noise)
TOLERANCE = 24.0


class MaskError(ValueError):
    """A mask file is missing, unreadable, of the wrong size, or a mask array is invalid."""


def davis_palette(n: int = 256) -> bytes:
    """The standard DAVIS / PASCAL VOC bit-interleaved palette: 0 black, 1 (128,0,0), 2 (0,128,0), 3 (128,128,0)..."""
    out = bytearray()
    for i in range(n):
        rgb = [0, 0, 0]
        c = i
        for j in range(8):
            for k in range(3):
                rgb[k] |= ((c >> k) & 1) << (7 - j)
            c >>= 3
        out += bytes(rgb)
    return bytes(out)


DAVIS_PALETTE: bytes = davis_palette()
_PALETTE_LOOKUP = {tuple(DAVIS_PALETTE[3 * i:3 * i + 3]): i for i in range(255, -1, -1)}


def read_mask(path: str | os.PathLike, size: tuple[int, int] | None = None,
              notes: list[str] | None = None) -> np.ndarray:
    """Read a mask file as an H×W uint8 index mask (0 = background); raises MaskError.

    ``size=(H, W)``, if given, must match the file. Empty (all-background) masks are returned as is. What the
    reader decided beyond reading ids verbatim (snapped anti-aliased edges, a void border, remapped 16-bit ids) is
    appended to ``notes`` as one line each.
    """
    p = Path(path)
    if not p.is_file():
        raise MaskError(f"mask file not found: {p}")
    said: list[str] = []
    try:
        with Image.open(p) as img:
            img.load()
            mask = _to_index(img, said)
    except (OSError, ValueError, SyntaxError) as exc:
        if isinstance(exc, MaskError):
            raise MaskError(f"mask {p}: {exc}") from None
        raise MaskError(f"cannot read mask {p}: {exc}") from exc
    if size is not None and tuple(mask.shape) != tuple(size):
        raise MaskError(f"mask {p} is {mask.shape[0]}x{mask.shape[1]} (HxW) but {size[0]}x{size[1]} was expected")
    if notes is not None:
        notes.extend(f"mask {p.name}: {line}" for line in said)
    return mask


def write_mask(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Atomically write an H×W index mask (ids 0..255) as a palette PNG with ``DAVIS_PALETTE``."""
    data = encode_mask_png(mask)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(p, data)


def encode_mask_png(mask: np.ndarray, compress_level: int = 6) -> bytes:
    """PNG bytes of an H×W index mask (ids 0..255) in palette mode with ``DAVIS_PALETTE`` (zlib level 0..9)."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise MaskError(f"a mask must be 2-D (H×W), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.dtype != bool and (arr.size and (arr.min() < 0 or arr.max() > 255)):
            raise MaskError(f"mask ids must be in 0..255, got {arr.min()}..{arr.max()}")
        arr = arr.astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(arr), mode="P")
    img.putpalette(DAVIS_PALETTE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def _to_index(img: Image.Image, notes: list[str]) -> np.ndarray:
    """Dispatch on the PIL mode."""
    if img.mode in ("P", "PA"):
        ids = np.asarray(img if img.mode == "P" else img.getchannel(0), dtype=np.uint8)
        used = np.unique(ids)
        if len(used) > MAX_OBJECTS and not _davis_colours(img, used):  # a quantised colour image, not ids
            rgba = np.asarray(img.convert("RGBA"))
            return _from_rgb(rgba[..., :3], rgba[..., 3], notes)
        return _drop_void(ids.copy(), notes)
    if img.mode == "1":
        return np.asarray(img, dtype=np.uint8).copy()
    if img.mode in ("L", "I;16", "I;16B", "I;16L", "I", "F"):
        return _from_gray(np.asarray(img), notes)
    if img.mode == "LA":
        return _from_gray(np.asarray(img)[..., 0], notes)
    rgba = np.asarray(img.convert("RGBA"))
    return _from_rgb(rgba[..., :3], rgba[..., 3], notes)


def _davis_colours(img: Image.Image, used: np.ndarray) -> bool:
    """True if the palette gives the used indices their DAVIS colours (so the indices are object ids)."""
    pal = img.getpalette() or []
    pal = np.frombuffer(bytes(pal[:768]).ljust(768, b"\0"), np.uint8).reshape(256, 3)
    ref = np.frombuffer(DAVIS_PALETTE, np.uint8).reshape(256, 3)
    return bool(np.array_equal(pal[used], ref[used]))


def _drop_void(ids: np.ndarray, notes: list[str]) -> np.ndarray:
    """DAVIS marks uncertain borders with 255 ("void"): background, when the mask also holds real ids."""
    void = ids == VOID
    if void.any() and (ids[~void] != 0).any():
        ids[void] = 0
        notes.append(f"{int(void.sum())} pixels of value 255 (the DAVIS 'void' border) read as background")
    return ids


def _interior(labels: np.ndarray, k: int) -> np.ndarray:
    """Per label (0..k-1): pixels whose whole 3×3 neighbourhood has that label (anti-aliased edges have none)."""
    padded = np.pad(labels, 1, mode="edge")
    h, w = labels.shape
    same = np.ones(labels.shape, bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy != 1 or dx != 1:
                same &= padded[dy:dy + h, dx:dx + w] == labels
    return np.bincount(labels[same], minlength=k)


def _dominant(values: np.ndarray, interior: np.ndarray, counts: np.ndarray, tol: float) -> list[int]:
    """Indices of the colours (k×C) that are objects; background (all zeros) is always a target.

    Candidates are colours with interior pixels, strongest first. A candidate within `tol` of a kept colour is
    that colour (noise); one lying on the segment between two kept colours that each have 4× its interior pixels
    is a blend (a soft edge band); any other is a new colour. Without candidates, the most frequent colour is kept.
    """
    zero = np.zeros(values.shape[1])
    kept_vecs, kept_w, kept = [zero], [np.inf], []
    order = sorted(range(len(values)), key=lambda i: (-interior[i], -counts[i]))
    for i in order:
        if interior[i] == 0:
            break
        v = values[i]
        if min(np.linalg.norm(v - u) for u in kept_vecs) <= tol or _is_blend(v, kept_vecs, kept_w, 4 * interior[i],
                                                                               tol):
            continue
        kept_vecs.append(v)
        kept_w.append(float(interior[i]))
        kept.append(i)
    if not kept:
        far = [i for i in np.argsort(-counts) if np.linalg.norm(values[i]) > tol]
        kept = far[:1]
    return kept


def _is_blend(v: np.ndarray, vecs: list[np.ndarray], weights: list[float], min_w: float, tol: float) -> bool:
    strong = [u for u, w in zip(vecs, weights, strict=True) if w >= min_w]
    for a in range(len(strong)):
        for b in range(a + 1, len(strong)):
            d = strong[b] - strong[a]
            t = float(np.dot(v - strong[a], d) / max(float(np.dot(d, d)), 1e-9))
            if 0.02 < t < 0.98 and np.linalg.norm(strong[a] + t * d - v) <= tol:
                return True
    return False


def _snap(values: np.ndarray, kept: list[int]) -> np.ndarray:
    """For every colour, the position in [background] + kept of its nearest target."""
    targets = np.concatenate([np.zeros((1, values.shape[1])), values[kept]])
    dist = ((values[:, None, :] - targets[None, :, :]) ** 2).sum(-1)
    return dist.argmin(1)


def _from_gray(values: np.ndarray, notes: list[str]) -> np.ndarray:
    """Grayscale: ids when every level is a solid region, else soft / anti-aliased levels snapped to dominant ones."""
    if values.dtype.kind == "f":
        top = 1.0 if values.size and float(values.max()) <= 1.0 else 255.0
        values = np.rint(np.clip(values, 0, top) * (255.0 / top)).astype(np.int64)
    wide = values.size and int(values.max()) > 255
    levels, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(values.shape)
    nonzero = levels[levels != 0]
    if len(nonzero) == 0:
        return np.zeros(values.shape, np.uint8)
    interior = _interior(inverse, len(levels))
    if bool((interior > 0).all()) and len(nonzero) <= (MAX_IDS if wide else MAX_OBJECTS):
        return _gray_ids(values, nonzero, notes)
    kept = _dominant(levels[:, None].astype(np.float64), interior, counts, TOLERANCE * (257 if wide else 1))
    snapped = _snap(levels[:, None].astype(np.float64), kept)
    notes.append(f"mask had {len(levels)} grey levels; read as {_objects(len(kept))} after snapping soft or "
                 "anti-aliased edges to the dominant levels")
    return snapped[inverse].astype(np.uint8)


def _gray_ids(values: np.ndarray, nonzero: np.ndarray, notes: list[str]) -> np.ndarray:
    """A grayscale image of solid regions: one level = object 1; small levels are ids; 16-bit ids are renumbered."""
    if len(nonzero) == 1 and nonzero[0] > MAX_OBJECTS:
        return (values == nonzero[0]).astype(np.uint8)
    if int(nonzero.max()) <= VOID:
        return _drop_void(values.astype(np.uint8), notes)
    if len(nonzero) > MAX_IDS:
        raise MaskError(f"it holds {len(nonzero)} object ids; at most {MAX_IDS} objects are supported")
    lookup = np.zeros(int(values.max()) + 1, np.uint8)
    lookup[nonzero] = np.arange(1, len(nonzero) + 1)
    shown = ", ".join(f"{int(v)}→{i + 1}" for i, v in enumerate(nonzero[:5])) + (", …" if len(nonzero) > 5 else "")
    notes.append(f"16-bit ids above 255 renumbered as objects 1..{len(nonzero)} ({shown})")
    return lookup[values]


def _from_rgb(rgb: np.ndarray, alpha: np.ndarray, notes: list[str]) -> np.ndarray:
    """RGB(A): grey → grayscale rules; solid colour regions → ids; anti-aliased colours snapped to dominant ones."""
    colours, inverse, counts = np.unique(rgb.reshape(-1, 3), axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(rgb.shape[:2])
    if len(colours) == 1 and alpha.min() != alpha.max():
        return _from_gray(alpha, notes)
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return _from_gray(rgb[..., 0], notes)
    interior = _interior(inverse, len(colours))
    black = (colours == 0).all(1)
    if bool((interior[~black] > 0).all()):
        if (~black).sum() > MAX_IDS:
            raise MaskError(f"it has {(~black).sum()} distinct solid colours (objects); at most {MAX_IDS} objects "
                            "are supported")
        ids = _colour_ids([tuple(int(v) for v in c) for c in colours])
        return ids[inverse].astype(np.uint8)
    values = colours.astype(np.float64)
    kept = _dominant(values, interior, counts, TOLERANCE)
    target_ids = np.concatenate([[0], _colour_ids([_nearest_davis(values[i]) for i in kept])])
    ids = target_ids[_snap(values, kept)]
    named = ", ".join(f"DAVIS colour {int(i)}" if _PALETTE_LOOKUP.get(_nearest_davis(values[k])) == i
                      else f"id {int(i)}" for k, i in zip(kept, target_ids[1:], strict=True))
    notes.append(f"mask had {len(colours)} colours; read as {_objects(len(kept))} ({named}) after snapping "
                 "anti-aliased edges")
    return ids[inverse].astype(np.uint8)


def _objects(n: int) -> str:
    return f"{n} object" if n == 1 else f"{n} objects"


def _nearest_davis(colour: np.ndarray) -> tuple[int, int, int]:
    """The DAVIS palette colour within `TOLERANCE` of `colour` (compression noise), else the colour itself."""
    pal = np.frombuffer(DAVIS_PALETTE, np.uint8).reshape(256, 3).astype(np.float64)
    d = np.linalg.norm(pal[1:] - colour, axis=1)
    k = int(d.argmin())
    return tuple(int(v) for v in (pal[k + 1] if d[k] <= TOLERANCE else np.rint(colour)))  # type: ignore[return-value]


def _colour_ids(colours: list[tuple[int, int, int]]) -> np.ndarray:
    """Object id per colour: black 0, DAVIS palette colours their index, others the next free ids."""
    ids = np.zeros(len(colours), np.int32)
    used = {0}
    pending = []
    for k, colour in enumerate(colours):
        known = _PALETTE_LOOKUP.get(colour)
        if known is not None and known not in used:
            ids[k] = known
            used.add(known)
        elif colour != (0, 0, 0):
            pending.append(k)
    free = (i for i in range(1, 256) if i not in used)
    for k in pending:
        ids[k] = next(free)
    return ids
