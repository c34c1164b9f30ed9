"""Reference-style XMem inference: a re-implementation in the style of the official code, for benchmarks and parity.

What this is: a compact re-implementation of the official XMem inference loop (``inference/memory_manager.py``,
``inference/kv_memory_store.py``, ``inference/inference_core.py``) following spec §4-§6, written the way the
reference writes it. The official code itself cannot be fetched here, so this file is our reading of it:

* keys / shrinkage / selection / values / usage counters are kept as tensors with a batch axis (1×C×L) and are
  grown with ``torch.cat`` on every insertion; every read concatenates [LT | WM] again;
* the full similarity of the query to every memory element is recomputed on each read (no caching);
* one joint top-k (k = 30) over the concatenated [LT | WM] similarity; usage = row sums of the affinity;
* consolidation slices the candidates [HW, size - (T_min - 1)·HW), picks the top-P by normalised usage and
  potentiates values and shrinkage with a full softmax (§5.5-§5.7);
* a single object group (all objects given in the first mask), fp32, no preallocation.

It uses OUR network (``xmem_core.model.network.XMem``) for the encoders and the decoder, and our pre/post-processing,
so its masks can be compared with the engine's (``tests/core/test_baseline_parity.py``, ``bench_propagate.py
--baseline``). Deliberate deviations from the official code, matching the fixes the spec asks for (and our engine):
top-k is max-subtracted and k clamped to the memory size (§4.2), P is clamped to the number of candidates (§5.6), and
LFU eviction removes exactly the surplus (stable order of normalised usage) instead of every tie (§5.8).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from xmem_core.config import MemoryConfig
from xmem_core.inference.preprocess import make_geometry, prepare_image, prepare_mask, prob_to_index, to_source
from xmem_core.io.base import FrameSource
from xmem_core.model.aggregate import aggregate
from xmem_core.model.network import XMem


# ------------------------------------------------------------------------------------------------ maths
def get_similarity(mk: Tensor, ms: Tensor | None, qk: Tensor, qe: Tensor | None) -> Tensor:
    """Anisotropic L2 similarity, official form. mk: B×Ck×L, ms: B×1×L, qk/qe: B×Ck×M -> B×L×M."""
    ck = mk.shape[1]
    if qe is not None:
        mk_t = mk.transpose(1, 2)
        a_sq = mk_t.pow(2) @ qe
        two_ab = 2 * (mk_t @ (qk * qe))
        b_sq = (qe * qk.pow(2)).sum(1, keepdim=True)
        similarity = -a_sq + two_ab - b_sq
    else:
        a_sq = mk.pow(2).sum(1).unsqueeze(2)
        two_ab = 2 * (mk.transpose(1, 2) @ qk)
        similarity = -a_sq + two_ab
    if ms is not None:
        similarity = similarity * ms.transpose(1, 2)
    return similarity / math.sqrt(ck)


def do_softmax(similarity: Tensor, top_k: int | None = None) -> tuple[Tensor, Tensor]:
    """Softmax over the memory axis (dim 1), top-k or full. similarity: B×L×M -> (affinity B×L×M, usage B×L)."""
    if top_k is not None:
        k = min(top_k, similarity.shape[1])
        values, indices = torch.topk(similarity, k=k, dim=1)
        x_exp = (values - values[:, :1]).exp()
        x_exp = x_exp / x_exp.sum(dim=1, keepdim=True)
        affinity = torch.zeros_like(similarity).scatter_(1, indices, x_exp)
    else:
        maxes = similarity.max(dim=1, keepdim=True)[0]
        x_exp = (similarity - maxes).exp()
        affinity = x_exp / x_exp.sum(dim=1, keepdim=True)
    return affinity, affinity.sum(dim=2)


# ------------------------------------------------------------------------------------------------ stores
class KeyValueStore:
    """Keys 1×Ck×L, shrinkage 1×1×L, selection 1×Ck×L | None, values N×Cv×L, use/life 1×1×L (fp32)."""

    def __init__(self, count_usage: bool) -> None:
        self.count_usage = count_usage
        self.k: Tensor | None = None
        self.s: Tensor | None = None
        self.e: Tensor | None = None
        self.v: Tensor | None = None
        self.use: Tensor | None = None
        self.life: Tensor | None = None

    @property
    def size(self) -> int:
        return 0 if self.k is None else self.k.shape[-1]

    def add(self, key: Tensor, value: Tensor, shrinkage: Tensor, selection: Tensor | None) -> None:
        """Append L' elements: key 1×Ck×L', value N×Cv×L', shrinkage 1×1×L', selection 1×Ck×L' | None."""
        new_use = torch.zeros((1, 1, key.shape[-1]), device=key.device, dtype=torch.float32)
        if self.k is None:
            self.k, self.v, self.s, self.e = key, value, shrinkage, selection
            self.use, self.life = new_use, new_use + 1e-7
            return
        self.k = torch.cat([self.k, key], -1)
        self.v = torch.cat([self.v, value], -1)
        self.s = torch.cat([self.s, shrinkage], -1)
        self.e = torch.cat([self.e, selection], -1) if selection is not None else None
        self.use = torch.cat([self.use, new_use], -1)
        self.life = torch.cat([self.life, new_use + 1e-7], -1)

    def update_usage(self, usage: Tensor) -> None:
        """usage: L (mass received in one read)."""
        if self.count_usage:
            self.use += usage.view_as(self.use)
            self.life += 1

    def get_usage(self) -> Tensor:
        return self.use / self.life  # 1×1×L

    def keep_mask(self, keep: Tensor) -> None:
        """Keep the elements where `keep` (L bool) is True, in order."""
        self.k, self.v, self.s = self.k[..., keep], self.v[..., keep], self.s[..., keep]
        self.e = self.e[..., keep] if self.e is not None else None
        self.use, self.life = self.use[..., keep], self.life[..., keep]

    def sieve_by_range(self, start: int, end: int) -> None:
        """Drop elements [start, end) (end < 0 counts from the end)."""
        keep = torch.ones(self.size, dtype=torch.bool, device=self.k.device)
        keep[start:end] = False
        self.keep_mask(keep)


# ------------------------------------------------------------------------------------------------ manager
class ReferenceMemory:
    """Working + long-term memory for one object group (spec §4-§5, official structure)."""

    def __init__(self, config: MemoryConfig) -> None:
        self.cfg = config
        self.work = KeyValueStore(count_usage=config.long_term)
        self.long = KeyValueStore(count_usage=config.count_usage)
        self.hw = 0

    def match_memory(self, qk: Tensor, qe: Tensor | None) -> Tensor:
        """qk/qe: 1×Ck×h×w -> readout N×Cv×h×w."""
        h, w = qk.shape[-2:]
        qk, qe = qk.flatten(2), (qe.flatten(2) if qe is not None else None)
        if self.cfg.long_term and self.long.size > 0:
            n_long = self.long.size
            key = torch.cat([self.long.k, self.work.k], -1)
            shrinkage = torch.cat([self.long.s, self.work.s], -1)
            affinity, usage = do_softmax(get_similarity(key, shrinkage, qk, qe), self.cfg.top_k)
            value = torch.cat([self.long.v, self.work.v], -1)
            self.long.update_usage(usage[:, :n_long].flatten())
            self.work.update_usage(usage[:, n_long:].flatten())
        else:
            affinity, usage = do_softmax(get_similarity(self.work.k, self.work.s, qk, qe), self.cfg.top_k)
            value = self.work.v
            if self.cfg.long_term:
                self.work.update_usage(usage.flatten())
        readout = value @ affinity  # N×Cv×L @ 1×L×M -> N×Cv×M
        return readout.view(readout.shape[0], readout.shape[1], h, w)

    def add_memory(self, key: Tensor, shrinkage: Tensor, value: Tensor, selection: Tensor | None) -> None:
        """key 1×Ck×h×w, shrinkage 1×1×h×w, value N×Cv×h×w, selection 1×Ck×h×w | None."""
        self.hw = self.hw or key.shape[-2] * key.shape[-1]
        sel = selection.flatten(2) if (self.cfg.long_term and selection is not None) else None
        self.work.add(key.flatten(2), value.flatten(2), shrinkage.flatten(2).float(), sel)
        if self.cfg.long_term and self.work.size >= self.cfg.T_max * self.hw:
            if self.long.size >= self.cfg.LT_max - self.cfg.P:
                self.remove_obsolete_features(self.cfg.LT_max - self.cfg.P)
            self.compress_features()
        elif not self.cfg.long_term and self.work.size >= self.cfg.T_max * self.hw:
            self.work.sieve_by_range(self.hw, -(self.cfg.T_min - 1) * self.hw or None)

    def remove_obsolete_features(self, max_size: int) -> None:
        """LFU: drop exactly size - max_size long-term elements with the lowest normalised usage."""
        surplus = self.long.size - max_size
        if surplus <= 0:
            return
        usage = self.long.get_usage().flatten()
        if not self.cfg.count_usage:  # no usage counted: evict the oldest (FIFO), as our engine does
            usage = torch.arange(self.long.size, device=usage.device, dtype=torch.float32)
        keep = torch.ones(self.long.size, dtype=torch.bool, device=usage.device)
        keep[torch.argsort(usage, stable=True)[:surplus]] = False
        self.long.keep_mask(keep)

    def compress_features(self) -> None:
        """Candidates [HW, size - (T_min-1)·HW) -> P prototypes appended to long-term memory."""
        start, end = self.hw, self.work.size - (self.cfg.T_min - 1) * self.hw
        w = self.work
        cand_k, cand_s, cand_e = w.k[..., start:end], w.s[..., start:end], w.e[..., start:end]
        usage = w.get_usage()[..., start:end].flatten()
        top = torch.topk(usage, k=min(self.cfg.P, usage.numel()), dim=-1, sorted=True).indices
        proto_k, proto_e = cand_k[..., top], cand_e[..., top]
        affinity, _ = do_softmax(get_similarity(cand_k, cand_s, proto_k, proto_e))  # 1×C×P
        proto_v = w.v[..., start:end] @ affinity  # N×Cv×P
        proto_s = cand_s @ affinity  # 1×1×P
        w.sieve_by_range(start, end)
        self.long.add(proto_k, proto_v, proto_s, None)


# ------------------------------------------------------------------------------------------------ core
@dataclass
class RefResult:
    """One processed frame."""

    frame: int
    mask: np.ndarray  # H×W uint8 at source resolution (user ids)
    prob: Tensor  # (N+1)×H×W at source resolution
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


class ReferenceCore:
    """The official InferenceCore.step (spec §6.1) for one object group whose masks all come on the first frame."""

    def __init__(self, net: XMem, config: MemoryConfig | None = None, sync_cuda: bool = False) -> None:
        self.net = net
        self.cfg = config or MemoryConfig()
        self.memory = ReferenceMemory(self.cfg)
        self.hidden: Tensor | None = None
        self.curr_ti, self.last_mem_ti = -1, 0
        self.sync = sync_cuda
        self.times: dict[str, float] = {}

    def _timed(self, name: str, fn, *args, **kwargs):
        if self.sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        if self.sync:
            torch.cuda.synchronize()
        self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - t0
        return out

    def step(self, image: Tensor, mask: Tensor | None = None, end: bool = False) -> Tensor:
        """image 1×3×H×W (padded), mask N×H×W or None -> (N+1)×H×W probabilities (padded)."""
        self.times = {}
        self.curr_ti += 1
        is_mem = (self.curr_ti - self.last_mem_ti >= self.cfg.r or mask is not None) and not end
        need_segment = self.curr_ti > 0 and mask is None
        is_normal_update = not is_mem and not end  # synchronised deep update (deep_update_every = -1)
        feats = self._timed("key_encoder", self.net.encode_key, image, need_sk=is_mem,
                            need_ek=self.cfg.long_term or need_segment)
        if need_segment:
            readout = self._timed("memory_read", self.memory.match_memory, feats.key, feats.selection)
            hidden, _, prob = self._timed("decoder", self.net.segment, feats, readout[None], self.hidden,
                                          h_out=is_normal_update, strip_bg=False)
            if is_normal_update:
                self.hidden = hidden
            prob = prob[0]
        else:
            prob = aggregate(mask[None].float())[1][0]
            if self.hidden is None and self.net.config.hidden_dim > 0:
                h, w = feats.key.shape[-2:]
                self.hidden = torch.zeros((1, mask.shape[0], self.net.config.hidden_dim, h, w), device=image.device)
        if is_mem:
            value, hidden = self._timed("value_encoder", self.net.encode_value, image, feats.f16, self.hidden,
                                        prob[None, 1:].to(image.dtype), is_deep_update=True)
            self.memory.add_memory(feats.key, feats.shrinkage, value[0], feats.selection)
            self.last_mem_ti = self.curr_ti
            self.hidden = hidden if hidden is not None else self.hidden
        return prob


def run_reference(net: XMem, frames: FrameSource, first_mask: np.ndarray, config: MemoryConfig | None = None,
                  size: int = 480, num_frames: int | None = None, device: str = "cpu",
                  autocast: torch.dtype | None = None) -> Iterator[RefResult]:
    """Propagate `first_mask` (H×W uint8 ids at source resolution) from frame 0 over `num_frames` frames.

    fp32 unless `autocast` (torch.bfloat16 / torch.float16) is given, as the reference's AMP mode.
    Mirrors ``VideoSession.propagate(0, stop=num_frames - 1)``: the last frame is processed with end=True.
    """
    dev = torch.device(device)
    net = net.to(dev).eval()
    geo = make_geometry(tuple(frames.size), size)
    ids = [int(i) for i in np.unique(first_mask) if i != 0]
    core = ReferenceCore(net, config, sync_cuda=dev.type == "cuda")
    n = len(frames) if num_frames is None else min(num_frames, len(frames))
    with torch.inference_mode():
        for t in range(n):
            image = prepare_image(frames[t], geo, dev)
            mask = prepare_mask(first_mask, ids, geo, dev) if t == 0 else None
            with torch.autocast(dev.type, dtype=autocast or torch.float32, enabled=autocast is not None):
                prob = core.step(image, mask, end=(t == n - 1 and t > 0)).float()
            prob = to_source(prob, geo)
            out_mask = first_mask.copy() if t == 0 else prob_to_index(prob, ids)
            yield RefResult(frame=t, mask=out_mask, prob=prob, timings=dict(core.times))
