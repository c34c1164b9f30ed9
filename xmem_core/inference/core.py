"""InferenceCore: all per-video state (memory, sensory state, counters, objects) around a stateless network.

One `step()` per frame, spec §6.1. Tensors here are at processing resolution and already padded to
multiples of 16; `VideoSession` handles frames, resizing and padding.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from xmem_core.config import MemoryConfig
from xmem_core.inference.allocator import keep_freed_memory
from xmem_core.inference.stages import EagerRunner, StageRunner, make_runner
from xmem_core.memory.log import MemoryEvent, MemoryStats
from xmem_core.memory.manager import MemoryManager
from xmem_core.memory.sensory import SensoryMemory
from xmem_core.model.aggregate import aggregate
from xmem_core.model.network import KeyFeatures, XMem
from xmem_core.model.optimize import prepare_for_inference

PRECISIONS = ("auto", "fp32", "mixed", "bf16", "fp16")
# stages each precision runs in low precision (under autocast); the rest, and all memory maths, run in fp32
_LOW_PRECISION_STAGES = {
    "fp32": (),
    # key encoder and value trunk in fp32: their rounding makes bf16 masks drift (README, Performance); the value
    # encoder's fusion block runs in bf16 all the same, inside the fp32 stage (see optimize._mixed)
    "mixed": ("decoder",),
    "bf16": ("encoder", "decoder"),
    "fp16": ("encoder", "decoder"),
}


class EngineError(ValueError):
    """A request the engine cannot honour (e.g. propagating without any mask)."""


@dataclass
class StepOutput:
    """Result of one step: probabilities over [background, objects...] and the memory log entry."""

    prob: Tensor  # (N+1)×H×W, padded processing resolution, background at index 0
    object_ids: list[int]  # user ids of channels 1..N
    stats: MemoryStats
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


class StepCancelledError(Exception):
    """`step` stopped between two network stages because its `cancel_event` was set; memory is as before the step."""


class InferenceCore:
    """Per-video XMem state. Objects carry stable user ids (1..255) and are kept in registration order."""

    def __init__(
        self,
        net: XMem,
        config: MemoryConfig | None = None,
        precision: str = "auto",
        profile: bool = False,
        optimize: bool = True,
        copy_model: bool = True,
        runner: StageRunner | None = None,
        graphs: bool = False,
    ) -> None:
        """runner: how the fixed-shape stages run (default: CUDA graphs when `graphs` and on CUDA, else eager)."""
        if precision not in PRECISIONS:
            raise EngineError(f"unknown precision {precision!r}; choose from {PRECISIONS}")
        self.config = config or MemoryConfig()
        self.config.validate()
        self.device = next(net.parameters()).device
        self.precision = resolve_precision(precision, self.device)
        self.channels_last = optimize
        # Denormal floats (from random or badly scaled weights) slow CPU convolutions 20-30x; flushing them to
        # zero changes nothing measurable. Process-wide setting; a no-op where the CPU lacks support.
        torch.set_flush_denormal(True)
        # Freed activations stay in the process for the next frame instead of being unmapped and faulted in again
        # (Lite at 480p: about 40 ms a frame). Process-wide, glibc only; see allocator.py.
        keep_freed_memory()
        # optimize=False (a debugging path) runs the caller's network as it is, each stage in the precision the
        # table gives it: for 'mixed' the value encoder's fusion then stays fp32 (prepare_for_inference sets it)
        self.net = prepare_for_inference(net, self.precision, inplace=not copy_model) if optimize else net.eval()
        self.profile = profile
        self.runner = runner if runner is not None else make_runner(self.device, graphs)
        self.cancel_event: threading.Event | None = None  # when set, `step` stops at its next stage boundary
        self.objects: list[int] = []
        self._events: list[MemoryEvent] = []
        self.reset_memory(log=False)

    # ---------------------------------------------------------------- state
    def reset_memory(self, log: bool = True) -> None:
        """Forget working, long-term and sensory memory. Registered objects are kept."""
        cfg = self.net.config
        self.memory = MemoryManager(self.config, cfg.key_dim, cfg.value_dim)
        self.memory.add_objects(len(self.objects))
        self.sensory = SensoryMemory(cfg.hidden_dim)
        self._grid: tuple[int, int] | None = None
        self.curr_ti = -1
        self.last_mem_ti = 0
        self.last_deep_ti = -self.config.deep_update_every
        if log:
            self._events.append(MemoryEvent("reset"))

    def swap_network(self, net: XMem, detail: dict | None = None) -> XMem:
        """Run with `net` (an inference-ready network of the same architecture, e.g. clip-adapted weights) from the
        next step on. Memory is reset and an "adapt" event logged with `detail`. Returns the previous network."""
        if net.config != self.net.config:
            raise EngineError(f"the new weights are a {net.config.name} network, the session runs "
                              f"{self.net.config.name}")
        previous, self.net = self.net, net
        self.invalidate_graphs()  # captured stages (CUDA graphs) hold the previous network's weights
        self.reset_memory(log=False)
        self._events.append(MemoryEvent("adapt", dict(detail or {})))
        return previous

    def prepare(self, net: XMem) -> XMem:
        """An inference-ready copy of `net` with this core's precision and optimisations (`net` is untouched)."""
        return prepare_for_inference(net, self.precision, inplace=False) if self.channels_last else net.eval()

    def update_config(self, config: MemoryConfig) -> None:
        """Apply new memory hyper-parameters; they take effect from the next insertion."""
        config.validate()
        self.config = config
        self.memory.config = config

    def remove_objects(self, ids: list[int]) -> None:
        """Forget objects everywhere (memory values, sensory state). Unknown ids are ignored."""
        slots = [self.objects.index(i) for i in ids if i in self.objects]
        if not slots:
            return
        self.memory.remove_objects(slots)
        self.sensory.remove_objects(slots)
        drop = set(slots)
        self.objects = [o for k, o in enumerate(self.objects) if k not in drop]
        self._events.append(MemoryEvent("remove_objects", {"ids": sorted(ids)}))

    def _register(self, ids: list[int], grid: tuple[int, int], like: Tensor) -> list[int]:
        """Register unseen ids (ascending). Returns the new ids."""
        new = sorted(i for i in set(ids) if i not in self.objects)
        if new:
            self.objects.extend(new)
            self.memory.add_objects(len(new))
            self._events.append(MemoryEvent("add_objects", {"ids": new}))
        missing = len(self.objects) - self.sensory.num_objects
        self.sensory.add_objects(missing, grid, like)
        return new

    # ----------------------------------------------------------------- step
    def step(
        self,
        image: Tensor,
        mask: Tensor | None = None,
        mask_ids: list[int] | None = None,
        valid_ids: list[int] | None = None,
        end: bool = False,
        frame: int = -1,
    ) -> StepOutput:
        """Process one frame.

        image: 1×3×H×W normalised, H and W multiples of 16.
        mask: K×H×W (probabilities or 0/1) for the user ids in `mask_ids` (length K), or None.
        valid_ids: ids this mask annotates; None means it annotates every known object (a full keyframe:
            objects it does not mention are absent). Objects not in valid_ids keep their prediction.
        end: last frame of a run: not memorised, no sensory update.
        """
        if mask is not None and (mask_ids is None or len(mask_ids) != mask.shape[0]):
            raise EngineError("mask_ids must name one user id per mask channel")
        if mask is None and self.memory.is_empty():
            raise EngineError("no mask in memory yet: the first processed frame needs a mask")
        timer = _Timer(self.profile, self.device)
        if self.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        hidden_before, n_objects = self.sensory.hidden, len(self.objects)
        self.curr_ti += 1
        grid = (image.shape[-2] // 16, image.shape[-1] // 16)
        flags = self._flags(mask, mask_ids, valid_ids, end)
        with timer("key_encoder"):
            feats = self._encode_key(image, need_sk=flags.is_mem, need_ek=flags.need_ek)
        self._stop_if_cancelled(hidden_before)
        pred = self._segment(feats, flags, timer) if flags.need_segment else None
        if mask is not None:
            out = self._merge_mask(pred, mask, mask_ids or [], valid_ids, grid, image)
        else:
            assert pred is not None
            out = pred
        if len(self.objects) == n_objects:  # (new objects are registered: finish the frame)
            self._stop_if_cancelled(hidden_before)
        if flags.is_mem:
            with timer("value_encoder"):
                self._memorise(image, feats, out, flags, frame)
        return StepOutput(out.float(), list(self.objects), self._stats(frame), timer.times)

    def _stop_if_cancelled(self, hidden_before: Tensor | None) -> None:
        """Between stages: on cancel, undo this step's changes (frame counter, sensory state) and stop."""
        if self.cancel_event is not None and self.cancel_event.is_set():
            self.curr_ti -= 1
            self.sensory.hidden = hidden_before
            raise StepCancelledError()

    def _flags(self, mask: Tensor | None, mask_ids: list[int] | None, valid_ids: list[int] | None,
               end: bool) -> "_Flags":
        cfg = self.config
        known_after = set(self.objects) | set(mask_ids or [])
        full = mask is not None and (valid_ids is None or set(valid_ids) >= known_after)
        is_mem = (self.curr_ti - self.last_mem_ti >= cfg.r or mask is not None) and not end
        need_segment = (not self.memory.is_empty()) and not full and len(self.objects) > 0
        sync = cfg.deep_update_every < 0
        is_deep = is_mem if sync else (is_mem and self.curr_ti - self.last_deep_ti >= cfg.deep_update_every)
        is_normal = (not sync or not is_deep) and not end
        need_ek = cfg.long_term or need_segment
        return _Flags(is_mem, need_segment, is_deep, is_normal, need_ek)

    def _segment(self, feats, flags: "_Flags", timer: "_Timer") -> Tensor:
        """Read memory and decode: (N+1)×H×W probabilities for the objects in memory."""
        with timer("memory_read"), self._fp32():
            sel = feats.selection[0].float() if feats.selection is not None else None
            readout = self.memory.read(feats.key[0].float(), sel)
        with timer("decoder"):
            hidden, prob = self._decode(feats, readout[None], self.sensory.get(), flags.is_normal)
        if flags.is_normal:
            self.sensory.set(hidden)
        return prob[0]

    def _merge_mask(self, pred: Tensor | None, mask: Tensor, mask_ids: list[int], valid_ids: list[int] | None,
                    grid: tuple[int, int], image: Tensor) -> Tensor:
        """Combine a user mask with the prediction (spec §6.1 step 4) and register new objects."""
        n_old = len(self.objects)
        self._register(mask_ids, grid, image)
        channels = [mask[mask_ids.index(i)] if i in mask_ids else torch.zeros_like(mask[0]) for i in self.objects]
        full = torch.stack(channels).float()  # N×H×W
        if pred is not None:
            valid = set(self.objects if valid_ids is None else valid_ids)
            annotated = full.sum(0) > 0.5
            pred_obj = pred[1:].float().masked_fill(annotated, 0.0)
            for slot in range(n_old):
                if self.objects[slot] not in valid:
                    full[slot] = pred_obj[slot]
        return aggregate(full[None])[1][0]

    def _memorise(self, image: Tensor, feats, out: Tensor, flags: "_Flags", frame: int) -> None:
        value, hidden = self._encode_value(image, feats.f16, self.sensory.get(), out[None, 1:].to(image.dtype),
                                           flags.is_deep)
        sel = feats.selection[0] if (self.config.long_term and feats.selection is not None) else None
        with self._fp32():
            self.memory.add_memory(feats.key[0].float(), feats.shrinkage[0].float(), value[0].float(), frame,
                                   selection=None if sel is None else sel.float())
        self.last_mem_ti = self.curr_ti
        if flags.is_deep:
            self.sensory.set(hidden)
            self.last_deep_ti = self.curr_ti
            self._events.append(MemoryEvent("deep_update", {"frame": frame}))

    # ------------------------------------------------- fixed-shape stages
    def _encode_key(self, image: Tensor, need_sk: bool, need_ek: bool) -> KeyFeatures:
        """Key encoder and projection through the stage runner (image 1×3×H×W)."""

        def stage(x: Tensor) -> tuple[Tensor | None, ...]:
            with self._autocast("encoder"):
                f = self.net.encode_key(x, need_sk=need_sk, need_ek=need_ek)
            return f.key, f.shrinkage, f.selection, f.f16, f.f8, f.f4

        return KeyFeatures(*self.runner.run("key_encoder", (need_sk, need_ek), stage, (image,)))

    def _decode(self, feats: KeyFeatures, readout: Tensor, hidden: Tensor | None,
                h_out: bool) -> tuple[Tensor | None, Tensor]:
        """Decoder through the stage runner: (hidden 1×N×Ch×h×w | None, prob 1×(N+1)×H×W)."""

        def stage(f16: Tensor, f8: Tensor, f4: Tensor, r: Tensor, h: Tensor | None) -> tuple[Tensor | None, ...]:
            with self._autocast("decoder"):
                # only stage inputs may be read here: a captured graph would keep reading any other tensor the
                # closure held (the decoder does not use the key; f16 stands in for it)
                f = KeyFeatures(f16, None, None, f16, f8, f4)
                h_new, _, prob = self.net.segment(f, r, h, h_out=h_out, strip_bg=False)
            return h_new, prob

        h_new, prob = self.runner.run("decoder", h_out, stage, (feats.f16, feats.f8, feats.f4, readout, hidden))
        assert prob is not None
        return h_new, prob

    def _encode_value(self, image: Tensor, f16: Tensor, hidden: Tensor | None, masks: Tensor,
                      is_deep: bool) -> tuple[Tensor, Tensor | None]:
        """Value encoder through the stage runner: (value 1×N×Cv×h×w, hidden 1×N×Ch×h×w | None)."""

        def stage(x: Tensor, f: Tensor, h: Tensor | None, m: Tensor) -> tuple[Tensor | None, ...]:
            with self._autocast("encoder"):
                return self.net.encode_value(x, f, h, m, is_deep_update=is_deep)

        value, h_new = self.runner.run("value_encoder", is_deep, stage, (image, f16, hidden, masks))
        assert value is not None
        return value, h_new

    def invalidate_graphs(self) -> None:
        """Drop captured stages: call after the network's weights were replaced (e.g. by per-clip adaptation)."""
        self.runner.invalidate()

    def _stats(self, frame: int) -> MemoryStats:
        events = self._events + self.memory.take_events()
        self._events = []
        return MemoryStats(
            frame=frame,
            sensory_objects=self.sensory.num_objects,
            working_frames=self.memory.working_frames,
            working_elements=self.memory.work.size,
            long_term_elements=self.memory.long.size,
            working_capacity=self.memory.working_capacity,
            long_term_capacity=self.config.LT_max if self.config.long_term else 0,
            events=events,
        )

    def _fp32(self) -> contextlib.AbstractContextManager:
        """Memory maths (similarity, top-k, sparse readout, potentiation) always runs in fp32."""
        return torch.autocast(device_type=self.device.type, enabled=False)

    @property
    def _graphs(self) -> bool:
        return not isinstance(self.runner, EagerRunner)

    def _autocast(self, stage: str) -> contextlib.AbstractContextManager:
        """Autocast for a network stage ("encoder": key and value encoders, "decoder") when the precision runs it
        in bf16/fp16 (see _LOW_PRECISION_STAGES); fp32 otherwise."""
        if stage not in _LOW_PRECISION_STAGES[self.precision]:
            return self._fp32()
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        # no cast cache under graph capture: cached casts would be freed while a graph still reads them
        return torch.autocast(device_type=self.device.type, dtype=dtype, cache_enabled=not self._graphs)


@dataclass
class _Flags:
    is_mem: bool
    need_segment: bool
    is_deep: bool
    is_normal: bool
    need_ek: bool


class _Timer:
    """Accumulates wall time per stage; synchronises CUDA only when profiling."""

    def __init__(self, profile: bool, device: torch.device) -> None:
        self.times: dict[str, float] = {}
        self.sync = profile and device.type == "cuda"

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        yield
        if self.sync:
            torch.cuda.synchronize()
        self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - t0


def resolve_precision(precision: str, device: torch.device) -> str:
    """auto: fp16 on CUDA (as the reference's AMP); on the CPU 'mixed' (bf16 decoder and value fusion; fp32 key
    encoder and value trunk) where the CPU has native bf16, else fp32. 'mixed' masks match fp32 on davis16-dev
    (mean IoU 0.998); all-bf16 masks drift (0.935), so bf16 is opt-in (README, Performance). Emulated bf16 is
    slower than fp32."""
    if precision != "auto":
        if precision == "fp16" and device.type != "cuda":
            raise EngineError("fp16 needs a CUDA device; use mixed, bf16 or fp32 on CPU")
        return precision
    if device.type == "cuda":
        return "fp16"
    return "mixed" if cpu_has_native_bf16() else "fp32"


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 dot-product instructions (AVX512-BF16 or AMX-BF16), read from /proc/cpuinfo;
    False where that file does not exist (then bf16 would be emulated, slower than fp32)."""
    try:
        info = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", info) is not None
