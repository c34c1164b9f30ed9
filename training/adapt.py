"""Per-clip adaptation: a short fine-tuning of the network on the clip's keyframes (the editor's masks).

Each step deforms keyframes into short pseudo-clips (affine, thin-plate spline and colour jitter, as in static-image
pretraining, spec §7.2) and trains with the XMem loss (bootstrapped CE + dice, spec §7.6) through the unrolled
training forward pass, BatchNorm frozen. The base network is never modified: a deep copy is trained and returned,
and `adapt_session` hands it to a `VideoSession` (which resets its memory and logs an "adapt" event). Nothing here
writes a file; `save_adapted` writes the adapted weights where the caller says (the project folder).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from training.data import transforms as tf
from training.data.tps import sample_tps, tps_warp
from training.forward import normalize_rgb, run_clip
from training.losses import LossConfig, xmem_loss
from xmem_core.inference.session import VideoSession
from xmem_core.model.checkpoint import save_weights
from xmem_core.model.network import XMem

PARAM_GROUPS = ("decoder+value", "decoder", "all")


@dataclass(frozen=True)
class AdaptConfig:
    """Per-clip fine-tuning from keyframes (defaults chosen from docs/ADAPT.md)."""

    budget_s: float = 120.0  # wall-clock seconds for the whole adaptation; no step starts that would end past it
    params: str = "decoder+value"  # parameters that move: "decoder+value", "decoder" or "all" (BN always frozen)
    lr: float = 1e-4  # AdamW learning rate (a few steps: higher than the training runs' 1e-5..6e-5)
    weight_decay: float = 0.0  # AdamW weight decay (none: a few steps must not shrink the weights)
    grad_clip: float = 1.0  # max gradient norm
    batch_size: int = 2  # B: pseudo-clips per step
    num_frames: int = 2  # T: frames per pseudo-clip (the first carries the keyframe's mask); 2 = cheapest step
    num_ref: int = 3  # memory frames per query frame in the unrolled pass
    size: int = 480  # short side keyframes are resized to before cropping (the session's processing size)
    crop: int = 256  # S: side of the square training crop near the objects (at most the frame's short side)
    degrees: float = 15.0  # per-frame rotation range (±)
    scale: tuple[float, float] = (0.9, 1.1)  # per-frame scale range
    shear: float = 10.0  # per-frame shear range (±, degrees)
    translate: float = 0.05  # per-frame translation range (± fraction of S)
    tps_prob: float = 0.33  # chance of a thin-plate-spline warp per frame
    tps_scale: float = 0.02  # TPS control point displacement (fraction of S)
    jitter: tuple[float, float, float, float] = (0.1, 0.05, 0.05, 0.0)  # colour jitter per frame (b, c, s, hue)
    top_p: float = 0.15  # bootstrapped CE keeps the hardest top_p of the pixels
    deep_update_prob: float = 0.2  # chance of a deep sensory update per memory frame
    max_steps: int = 0  # also stop after this many steps (0: the budget alone decides)
    seed: int = 0  # seed of the pseudo-clip draws

    def validate(self) -> None:
        if self.params not in PARAM_GROUPS:
            raise ValueError(f"params must be one of {PARAM_GROUPS}, not {self.params!r}")
        if self.budget_s <= 0 or self.lr <= 0 or self.batch_size < 1 or self.num_frames < 2 or self.crop < 16:
            raise ValueError("budget_s and lr must be > 0, batch_size >= 1, num_frames >= 2, crop >= 16")


@dataclass
class Keyframe:
    """One annotated frame: image H×W×3 uint8 RGB and index mask H×W uint8 (object ids, 0 = background)."""

    frame: int
    image: np.ndarray
    mask: np.ndarray


@dataclass
class AdaptProgress:
    """Reported after every step."""

    step: int  # steps done
    seconds: float  # elapsed wall time
    budget_s: float  # the budget
    loss: float  # training loss of this step


@dataclass
class AdaptResult:
    """The adapted network (None when cancelled) and what it took."""

    net: XMem | None
    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)  # training loss per step
    cancelled: bool = False
    object_ids: list[int] = field(default_factory=list)  # user ids of slots 1..N

    def summary(self) -> dict:
        """JSON-able description (the memory log's "adapt" event detail)."""
        return {"steps": self.steps, "seconds": round(self.seconds, 2),
                "loss_first": round(self.losses[0], 4) if self.losses else None,
                "loss_last": round(self.losses[-1], 4) if self.losses else None}


# ---------------------------------------------------------------- pseudo-clips


def _prepare_keyframe(kf: Keyframe, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Resize to short side `size`: float32 H×W×3 image in [0, 1] and uint8 index mask."""
    img = tf.resize_short(tf.to_float_image(np.asarray(kf.image)), size, "area")
    mask = tf.resize(np.asarray(kf.mask, np.uint8), img.shape[:2], "nearest")
    return img, mask


def _crop_origin(rng: np.random.Generator, mask: np.ndarray, s: int) -> tuple[int, int]:
    """Top-left corner of an S×S window around the objects (random offset, kept inside the image if it fits)."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    cy, cx = (ys.mean(), xs.mean()) if len(ys) else (h / 2, w / 2)
    cy += rng.uniform(-s / 4, s / 4)
    cx += rng.uniform(-s / 4, s / 4)
    top = int(np.clip(cy - s / 2, 0, max(h - s, 0)))
    left = int(np.clip(cx - s / 2, 0, max(w - s, 0)))
    return top, left


def _deform(rng: np.random.Generator, img: np.ndarray, mask: np.ndarray, cfg: AdaptConfig
            ) -> tuple[np.ndarray, np.ndarray]:
    """One pseudo-frame: affine, colour jitter, maybe TPS. S×S×3 float, S×S uint8."""
    p = tf.sample_affine(rng, cfg.degrees, cfg.translate, cfg.scale, cfg.shear)
    im = tf.warp_affine(img, p, "bilinear", tf.MEAN_FILL)
    m = tf.warp_affine(mask, p, "nearest", 0)
    im = tf.color_jitter(np.clip(im, 0, 1), tf.sample_jitter(rng, *cfg.jitter))
    if rng.random() < cfg.tps_prob:
        s = im.shape[0]
        im, m = tps_warp(im, np.ascontiguousarray(m), sample_tps(rng, s, s, 12, cfg.tps_scale))
    return im, m


def pseudo_clip(rng: np.random.Generator, img: np.ndarray, mask: np.ndarray, ids: list[int], cfg: AdaptConfig
                ) -> tuple[np.ndarray, np.ndarray]:
    """A T-frame pseudo-clip from one keyframe. Returns rgb T×3×S×S uint8 and labels T×S×S uint8 (slot k+1 =
    ids[k], 0 = background or an object not in `ids`)."""
    s = min(cfg.crop, *img.shape[:2])  # S, at most the frame's short side
    top, left = _crop_origin(rng, mask, s)
    img = tf.pad_crop(img, top, left, s, tf.MEAN_FILL)
    slots = np.zeros(256, np.uint8)
    slots[ids] = np.arange(1, len(ids) + 1, dtype=np.uint8)
    mask = slots[tf.pad_crop(mask, top, left, s, 0)]
    if rng.random() < 0.5:
        img, mask = tf.hflip(img), tf.hflip(mask)
    frames, labels = zip(*(_deform(rng, img, mask, cfg) for _ in range(cfg.num_frames)), strict=True)
    return np.stack([tf.to_uint8_chw(f) for f in frames]), np.stack(labels).astype(np.uint8)


@dataclass
class Batch:
    """rgb B×T×3×S×S normalised, first B×N×S×S, selector B×N, cls_gt B×T×1×S×S, num_objects B."""

    rgb: Tensor
    first: Tensor
    selector: Tensor
    cls_gt: Tensor
    num_objects: Tensor


def make_batch(rng: np.random.Generator, prepared: Sequence[tuple[np.ndarray, np.ndarray]], ids: list[int],
               cfg: AdaptConfig, device: torch.device) -> Batch:
    """B pseudo-clips, each from a keyframe drawn uniformly."""
    n = len(ids)
    rgbs, labels = [], []
    for _ in range(cfg.batch_size):
        img, mask = prepared[int(rng.integers(len(prepared)))]
        rgb, lab = pseudo_clip(rng, img, mask, ids, cfg)
        rgbs.append(rgb)
        labels.append(lab)
    rgb_t = torch.from_numpy(np.stack(rgbs)).to(device)
    cls = torch.from_numpy(np.stack(labels)).to(device)  # B×T×S×S
    first = torch.stack([(cls[:, 0] == k + 1) for k in range(n)], 1).float()  # B×N×S×S
    selector = torch.ones(cls.shape[0], n, device=device)
    num = torch.full((cls.shape[0],), n, dtype=torch.long)
    return Batch(normalize_rgb(rgb_t), first, selector, cls[:, :, None], num)


# ---------------------------------------------------------------- training


def trainable_parameters(net: XMem, params: str) -> list[torch.nn.Parameter]:
    """Set requires_grad for the chosen group (others frozen) and return the trainable parameters."""
    groups = {"decoder": [net.decoder], "decoder+value": [net.decoder, net.value_encoder], "all": [net]}[params]
    for p in net.parameters():
        p.requires_grad_(False)
    chosen = [p for module in groups for p in module.parameters()]
    for p in chosen:
        p.requires_grad_(True)
    return chosen


def batch_loss(net: XMem, batch: Batch, rng: np.random.Generator, it: int, cfg: AdaptConfig) -> Tensor:
    """The XMem loss of one batch of pseudo-clips (scalar, with graph when parameters require grad)."""
    out = run_clip(net, batch.rgb, batch.first, batch.selector, rng, cfg.num_ref, cfg.deep_update_prob)
    loss_cfg = LossConfig(start_warm=0, end_warm=0, top_p=cfg.top_p)
    return xmem_loss(out.logits, out.probs, batch.cls_gt, batch.num_objects, it, loss_cfg)["total"]


def object_ids(keyframes: Sequence[Keyframe]) -> list[int]:
    """Sorted ids of the objects painted in any keyframe."""
    return sorted({int(i) for kf in keyframes for i in np.unique(kf.mask) if i != 0})


def adapt_network(base: XMem, keyframes: Sequence[Keyframe], cfg: AdaptConfig | None = None,
                  cancel: threading.Event | None = None,
                  progress: Callable[[AdaptProgress], None] | None = None) -> AdaptResult:
    """Fine-tune a copy of `base` on `keyframes` within `cfg.budget_s` seconds. `base` is left untouched.

    Returns the adapted network (eval mode, no gradients) or, when `cancel` was set, a result with net=None.
    At least one step runs; no further step starts when the mean step time says it would end past the budget.
    """
    cfg = cfg or AdaptConfig()
    cfg.validate()
    t0 = time.perf_counter()
    ids = object_ids(keyframes)
    if not ids:
        raise ValueError("the keyframes mark no object: paint a mask before adapting")
    device = next(base.parameters()).device
    torch.set_flush_denormal(True)  # as the engine: denormals slow CPU convolutions 20-30x
    net = copy.deepcopy(base).float().eval()  # eval: BatchNorm statistics stay frozen
    opt = torch.optim.AdamW(trainable_parameters(net, cfg.params), lr=cfg.lr, weight_decay=cfg.weight_decay)
    prepared = [_prepare_keyframe(kf, cfg.size) for kf in keyframes]
    rng = np.random.default_rng(cfg.seed)
    losses: list[float] = []
    while True:
        if cancel is not None and cancel.is_set():
            return AdaptResult(None, len(losses), time.perf_counter() - t0, losses, True, ids)
        elapsed = time.perf_counter() - t0
        if losses and (elapsed + elapsed / len(losses) > cfg.budget_s or len(losses) == cfg.max_steps):
            break
        loss = batch_loss(net, make_batch(rng, prepared, ids, cfg, device), rng, len(losses), cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], cfg.grad_clip)
        opt.step()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(AdaptProgress(len(losses), time.perf_counter() - t0, cfg.budget_s, losses[-1]))
    for p in net.parameters():
        p.requires_grad_(False)
    return AdaptResult(net, len(losses), time.perf_counter() - t0, losses, False, ids)


@torch.no_grad()
def keyframe_loss(net: XMem, keyframes: Sequence[Keyframe], cfg: AdaptConfig, batches: int = 4, seed: int = 1234
                  ) -> float:
    """Mean XMem loss of `net` on a fixed set of pseudo-clips from `keyframes` (same draws for every net)."""
    rng = np.random.default_rng(seed)
    prepared = [_prepare_keyframe(kf, cfg.size) for kf in keyframes]
    ids = object_ids(keyframes)
    device = next(net.parameters()).device
    total = 0.0
    for _ in range(batches):
        batch = make_batch(rng, prepared, ids, cfg, device)
        total += float(batch_loss(net.eval(), batch, np.random.default_rng(seed), 10**9, cfg))
    return total / batches


# ---------------------------------------------------------------- sessions


def processing_size(session: VideoSession) -> int:
    """The short side the session's network sees (its `size`, or the source's short side for size <= 0)."""
    return session.size if session.size > 0 else min(session.frames.size)


def session_keyframes(session: VideoSession) -> list[Keyframe]:
    """The session's keyframes with their source frames."""
    return [Keyframe(i, session.frames[i], session.keyframe_mask(i)) for i in session.keyframes]


def adapt_session(session: VideoSession, keyframes: Sequence[Keyframe] | None = None,
                  cfg: AdaptConfig | None = None, cancel: threading.Event | None = None,
                  progress: Callable[[AdaptProgress], None] | None = None) -> AdaptResult:
    """Adapt the session's base network to its keyframes (or `keyframes`) and make the session use the result.

    On success the session's memory is reset and an "adapt" memory event is logged; when cancelled the session
    keeps the weights it had. Always starts from the base weights, so adapting again never compounds.
    """
    kfs = list(keyframes) if keyframes is not None else session_keyframes(session)
    if not kfs:
        raise ValueError("the session has no keyframe to learn from")
    cfg = cfg or AdaptConfig(size=processing_size(session))
    result = adapt_network(session.base_network, kfs, cfg, cancel, progress)
    if result.net is not None:
        detail = {"keyframes": [kf.frame for kf in kfs], "params": cfg.params, **result.summary()}
        session.set_network(result.net, detail)
    return result


def save_adapted(net: XMem, path: str | Path, meta: dict | None = None) -> Path:
    """Write adapted weights (atomically, with the engine's weights format) to `path`, e.g. inside a project."""
    save_weights(net, Path(path), {"adapted": True, **(meta or {})})
    return Path(path)
