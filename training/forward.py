"""The unrolled training forward pass over a clip (spec §7.5), written against the engine's network API."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from xmem_core.model.network import KeyFeatures, XMem

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ClipOutput:
    """Per query frame t = 1..T-1: logits B×(N+1)×H×W (with bg) and prob B×N×H×W (bg stripped)."""

    logits: list[Tensor]
    probs: list[Tensor]


def normalize_rgb(rgb: Tensor) -> Tensor:
    """uint8 (or [0,1] float) ...×3×H×W -> ImageNet-normalised float32."""
    x = rgb.float() / 255 if rgb.dtype == torch.uint8 else rgb.float()
    mean = x.new_tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


def _frame_features(feats: KeyFeatures, b: int, t: int, ti: int) -> KeyFeatures:
    """Slice frame ti out of KeyFeatures computed on B·T images (frame-major within each sample)."""
    out = {}
    for f in dataclasses.fields(feats):
        x = getattr(feats, f.name)
        out[f.name] = None if x is None else x.view(b, t, *x.shape[1:])[:, ti]
    return KeyFeatures(**out)


def memory_indices(rng: np.random.Generator, b: int, ti: int, num_ref: int) -> np.ndarray:
    """Memory frames for query ti, B×min(ti, num_ref): all previous frames, or frame 0 + random distinct others."""
    if ti <= num_ref:
        return np.tile(np.arange(ti), (b, 1))
    rows = [np.concatenate([[0], np.sort(rng.choice(np.arange(1, ti), num_ref - 1, replace=False))]) for _ in range(b)]
    return np.stack(rows)


def _gather(x: Tensor, idx: Tensor) -> Tensor:
    """x: B×T×..., idx: B×K (long) -> B×K×... (per-sample frame selection)."""
    view = idx.view(*idx.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])
    return torch.gather(x, 1, view)


def plan_clip(rng: np.random.Generator, b: int, t: int, num_ref: int, deep_update_prob: float
              ) -> tuple[list[np.ndarray], list[bool]]:
    """The clip's random choices, drawn in the order the unrolled pass uses them (query by query: memory frames,
    then the deep-update coin of frames that get encoded). Returns (indices per query 1..T-1, coins per query)."""
    indices, coins = [], []
    for ti in range(1, t):
        indices.append(memory_indices(rng, b, ti, num_ref))
        coins.append(bool(rng.random() < deep_update_prob) if ti < t - 1 else False)
    return indices, coins


def _indices_on(device: torch.device, indices: list[np.ndarray]) -> list[Tensor]:
    """All queries' memory indices in one host->device copy (pinned and asynchronous on CUDA: no host sync)."""
    flat = torch.from_numpy(np.concatenate([i.ravel() for i in indices]).astype(np.int64))
    if device.type == "cuda":
        flat = flat.pin_memory().to(device, non_blocking=True)
    parts = flat.split([i.size for i in indices])
    return [p.view(i.shape) for p, i in zip(parts, indices, strict=True)]


def run_clip(
    net: XMem,
    rgb: Tensor,
    first_frame_gt: Tensor,
    selector: Tensor,
    rng: np.random.Generator,
    num_ref: int = 3,
    deep_update_prob: float = 0.2,
    channels_last: bool = False,
) -> ClipOutput:
    """Unroll one batch of clips.

    rgb: B×T×3×H×W normalised; first_frame_gt: B×N×H×W (slot masks of frame 0); selector: B×N.
    The memory values of frames 1.. come from the predicted soft masks (not detached). One deep-update coin per
    batch (numpy, `rng`); the decoder updates the sensory memory on every frame except the last. `net` may be any
    object with XMem's `config` and per-frame stages (e.g. `training.runtime.FrameStages`, compiled). With
    `channels_last` the frames are fed NHWC. No host synchronisation: the random choices are drawn up front and
    copied to the device at once.
    """
    b, t = rgb.shape[:2]
    n = first_frame_gt.shape[1]
    layout = torch.channels_last if channels_last else torch.contiguous_format
    frames = rgb.flatten(0, 1).contiguous(memory_format=layout)
    feats = net.encode_key(frames, need_sk=True, need_ek=True)
    keys = feats.key.view(b, t, *feats.key.shape[1:])  # B×T×Ck×h×w
    shrink = feats.shrinkage.view(b, t, *feats.shrinkage.shape[1:])  # B×T×1×h×w
    f16 = feats.f16.view(b, t, *feats.f16.shape[1:])
    hdim = net.config.hidden_dim
    h16, w16 = keys.shape[-2:]
    hidden = keys.new_zeros(b, n, hdim, h16, w16) if hdim > 0 else None
    indices, coins = plan_clip(rng, b, t, num_ref, deep_update_prob)
    device_indices = _indices_on(rgb.device, indices)

    def image(ti: int) -> Tensor:
        return rgb[:, ti].contiguous(memory_format=layout)

    v0, hidden = net.encode_value(image(0), f16[:, 0], hidden, first_frame_gt, is_deep_update=True)
    values = [v0]  # each B×N×Cv×h×w
    out = ClipOutput([], [])
    for ti in range(1, t):
        idx = device_indices[ti - 1]
        mem_v = _gather(torch.stack(values, 1), idx)  # B×K×N×Cv×h×w
        mem_v = mem_v.permute(0, 2, 3, 1, 4, 5).flatten(3)  # B×N×Cv×(K·h·w)
        mem_k = _gather(keys[:, :ti], idx).transpose(1, 2).flatten(2)  # B×Ck×(K·h·w)
        mem_s = _gather(shrink[:, :ti], idx).transpose(1, 2).flatten(2)  # B×1×(K·h·w)
        q = _frame_features(feats, b, t, ti)
        readout = net.read_memory(q.key, q.selection, mem_k, mem_s, mem_v, top_k=None)
        last = ti == t - 1
        new_hidden, logits, prob = net.segment(q, readout, hidden, h_out=not last, selector=selector, strip_bg=True)
        hidden = new_hidden if new_hidden is not None else hidden
        out.logits.append(logits)
        out.probs.append(prob)
        if not last:
            v, hidden = net.encode_value(image(ti), f16[:, ti], hidden, prob, is_deep_update=coins[ti - 1])
            values.append(v)
    return out
