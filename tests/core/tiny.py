"""Tiny random-weight models and synthetic clips for fast CPU tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from xmem_core.config import ModelConfig
from xmem_core.model.checkpoint import save_weights
from xmem_core.model.network import XMem

TINY = ModelConfig(
    name="tiny",
    key_backbone="efficientnet-lite0",
    value_backbone="efficientnet-lite0",
    key_dim=16,
    value_dim=32,
    hidden_dim=8,
    decoder_dims=(32, 16, 16),
)


def tiny_model(seed: int = 0) -> XMem:
    torch.manual_seed(seed)
    return XMem(TINY).eval()


def tiny_weights(path: Path, seed: int = 0) -> Path:
    save_weights(tiny_model(seed), path)
    return path


def moving_square_clip(
    n: int = 12, h: int = 48, w: int = 64, seed: int = 0
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Frames (H×W×3 uint8) of a textured background with a bright square moving right, and its masks."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 120, size=(h, w, 3), dtype=np.uint8)
    frames, masks = [], []
    for t in range(n):
        img = background.copy()
        mask = np.zeros((h, w), np.uint8)
        x0 = 4 + 2 * t
        mask[12:28, x0 : x0 + 16] = 1
        img[mask == 1] = (230, 60, 40)
        frames.append(img)
        masks.append(mask)
    return frames, masks


def write_frame_folder(folder: Path, frames: list[np.ndarray], ext: str = "jpg") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"frame_{i:03d}.{ext}", quality=95)
    return folder


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
