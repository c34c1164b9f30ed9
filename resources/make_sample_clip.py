"""Generate the bundled synthetic sample clip (our own content, not DAVIS data).

Writes ``resources/sample/sample.mp4`` (90 frames, 640×360, H.264 if available else MPEG-4 Part 2),
``resources/sample/gt/00000.png ...`` (DAVIS palette index masks for every frame) and
``resources/sample/first_mask.png`` (the frame-0 annotation). Deterministic (fixed seed).

Scene: a slowly panning procedural background (multi-octave value noise + gradient) with three objects:
1 a red, deforming (breathing) ellipse; 2 a rotating, striped five-point star; 3 a blue-green textured disc
that passes in front of both, partly occluding them. Depth order: 1 (back), 2, 3 (front).

Run: ``python resources/make_sample_clip.py [OUT_DIR]``
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xmem_core.io.masks import write_mask  # noqa: E402

H, W, N_FRAMES, FPS, SEED = 360, 640, 90, 24, 1234
PAN = 60  # extra background margin for the camera pan


def value_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 5) -> np.ndarray:
    """Smooth fractal noise in [0, 1], shape h×w."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 4 * 2 ** o
        grid = rng.random((cells + 1, int(cells * w / h) + 1)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    out /= total
    return (out - out.min()) / (out.max() - out.min() + 1e-6)


def make_background(rng: np.random.Generator) -> np.ndarray:
    """Textured RGB background (uint8), larger than the frame so it can pan."""
    h, w = H + PAN, W + 2 * PAN
    n1, n2 = value_noise(rng, h, w), value_noise(rng, h, w, octaves=3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grad = 0.5 + 0.5 * np.sin(xx / w * math.pi) * np.cos(yy / h * math.pi / 2)
    bg = np.stack([90 + 80 * n1 * grad, 110 + 70 * n2, 70 + 60 * (1 - n1) * grad], axis=-1)
    return np.clip(bg, 0, 255).astype(np.uint8)


def ellipse_points(t: float) -> np.ndarray:
    """Object 1: a breathing ellipse moving left to right on a gentle arc."""
    cx, cy = 150 + 300 * t, 170 + 40 * math.sin(2 * math.pi * t)
    a, b = 70 + 15 * math.sin(6 * t), 45 + 12 * math.cos(5 * t)
    ang = np.linspace(0, 2 * math.pi, 90, endpoint=False)
    rot = 0.6 * t
    x, y = a * np.cos(ang), b * np.sin(ang)
    return np.stack([cx + x * math.cos(rot) - y * math.sin(rot), cy + x * math.sin(rot) + y * math.cos(rot)], 1)


def star_points(t: float) -> np.ndarray:
    """Object 2: a rotating five-point star drifting right to left, its arms flexing."""
    cx, cy = 500 - 260 * t, 200 + 60 * math.cos(3 * t)
    k = np.arange(10)
    r = np.where(k % 2 == 0, 80 + 10 * np.sin(4 * t + k), 36 + 6 * np.cos(3 * t))
    ang = k * math.pi / 5 + 1.5 * t
    return np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)


def disc_points(t: float) -> np.ndarray:
    """Object 3: a disc crossing top-down in front of the others."""
    cx, cy = 330 + 40 * math.sin(4 * t), 40 + 260 * t
    ang = np.linspace(0, 2 * math.pi, 60, endpoint=False)
    r = 42 + 4 * np.sin(3 * ang + 5 * t)
    return np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)


def polygon_mask(points: np.ndarray) -> np.ndarray:
    """Hard-edged boolean mask of a polygon (sub-pixel precision)."""
    m = np.zeros((H, W), np.uint8)
    cv2.fillPoly(m, [np.round(points * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return m.astype(bool)


def textures(rng: np.random.Generator) -> list[np.ndarray]:
    """Per-object RGB textures (full frame size; sampled in object coordinates by shifting)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    n = value_noise(rng, H, W, octaves=4)
    red = np.stack([200 + 40 * n, 40 + 30 * n, 40 + 20 * n], -1)
    stripes = 0.5 + 0.5 * np.sign(np.sin((xx + yy) / 6.0))
    yellow = np.stack([230 * (0.6 + 0.4 * stripes), 200 * (0.6 + 0.4 * stripes), 40 + 30 * n], -1)
    checker = ((xx // 10 + yy // 10) % 2).astype(np.float32)
    teal = np.stack([30 + 30 * checker, 150 + 60 * n, 170 + 50 * checker], -1)
    return [np.clip(t, 0, 255).astype(np.uint8) for t in (red, yellow, teal)]


def render(t: float, bg: np.ndarray, tex: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """RGB frame and index mask at normalised time t in [0, 1]."""
    ox, oy = int(round(PAN + PAN * math.sin(2 * math.pi * t))), int(round(PAN * t))
    frame = bg[oy:oy + H, ox:ox + W].copy()
    mask = np.zeros((H, W), np.uint8)
    shapes = (ellipse_points, star_points, disc_points)
    for obj_id, (shape, texture) in enumerate(zip(shapes, tex, strict=True), start=1):
        pts = shape(t)
        m = polygon_mask(pts)
        shift = np.roll(texture, (int(pts[:, 1].mean()) % H, int(pts[:, 0].mean()) % W), axis=(0, 1))
        frame[m] = shift[m]
        mask[m] = obj_id
    return frame, mask


def encode(path: Path, frames: list[np.ndarray]) -> str:
    """Encode RGB frames to mp4 (libx264 if present, else mpeg4); returns the codec used."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.gop_size = 30
        if codec == "libx264":
            stream.options = {"crf": "20", "preset": "medium", "threads": "1"}
        else:
            stream.bit_rate = 1_200_000
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return codec


def main(out_dir: Path) -> None:
    """Render, encode and write masks."""
    rng = np.random.default_rng(SEED)
    bg, tex = make_background(rng), textures(rng)
    frames, masks = zip(*(render(i / (N_FRAMES - 1), bg, tex) for i in range(N_FRAMES)), strict=True)
    (out_dir / "gt").mkdir(parents=True, exist_ok=True)
    codec = encode(out_dir / "sample.mp4", list(frames))
    for i, m in enumerate(masks):
        write_mask(out_dir / "gt" / f"{i:05d}.png", m)
    write_mask(out_dir / "first_mask.png", masks[0])
    size = (out_dir / "sample.mp4").stat().st_size
    print(f"wrote {N_FRAMES} frames ({codec}, {size / 1e6:.2f} MB) and masks to {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "sample")
