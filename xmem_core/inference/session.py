"""VideoSession: a frame source, user keyframes and an InferenceCore, with a generator `propagate()`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from xmem_core.config import MemoryConfig
from xmem_core.inference.core import EngineError, InferenceCore, StepCancelledError
from xmem_core.inference.prefetch import FramePrefetcher
from xmem_core.inference.preprocess import (
    OUTPUT_TILE_ELEMENTS,
    make_geometry,
    prepare_mask,
    prob_index,
    source_index,
    to_source,
)
from xmem_core.inference.transfer import HostMask, Upload
from xmem_core.io.frames import FrameSource
from xmem_core.memory.log import MemoryStats
from xmem_core.model.network import XMem


@dataclass
class FrameResult:
    """One propagated (or fed) frame. On CUDA the mask is still being copied to the host when the result is
    yielded: reading `mask` waits for that copy (only); `pending` can be handed to another thread to wait there."""

    frame: int  # source frame index
    pending: HostMask  # the H×W uint8 index mask at source resolution (user ids), possibly still in flight
    stats: MemoryStats  # memory occupancy and events after this frame
    is_keyframe: bool  # True when the mask is the user's own (start frame or a keyframe met on the way)
    prob: torch.Tensor | None = None  # (N+1)×H×W source-resolution probabilities, only with with_prob=True
    object_ids: list[int] = field(default_factory=list)  # ids of prob channels 1..N
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def mask(self) -> np.ndarray:
        """H×W uint8 index mask at source resolution (user ids)."""
        return self.pending.result()


class VideoSession:
    """Per-video inference state. Not thread-safe except `cancel()`, which may be called from any thread."""

    def __init__(
        self,
        model: XMem,
        frames: FrameSource,
        memory_config: MemoryConfig | None = None,
        size: int = 480,
        device: str | torch.device = "cpu",
        precision: str = "auto",
        profile: bool = False,
        optimize: bool = True,
        copy_model: bool = True,
        prepare_ahead: bool | None = None,
        graphs: bool | None = None,
    ) -> None:
        """copy_model=False hands `model` over: it is optimised in place (folded BN, bf16...) to save memory.
        prepare_ahead: resize, normalise and upload frames in the prefetch thread too, not only decode them there
        (None: on CUDA only; see `_prepare_stages`). graphs: capture the fixed-shape stages as CUDA graphs
        (None: on CUDA unless profiling, whose per-stage synchronisation would be measured instead)."""
        self.device = torch.device(device)
        self.prepare_ahead = self.device.type == "cuda" if prepare_ahead is None else prepare_ahead
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise EngineError("CUDA was requested but no CUDA device is available")
        self.frames = frames
        self.size = size
        self.geometry = make_geometry(tuple(frames.size), size)
        graphs = self.device.type == "cuda" and not profile if graphs is None else graphs
        model = model.to(self.device).eval()
        self._base = model if copy_model else None  # unoptimised base weights, what adaptation starts from
        self.core = InferenceCore(model, memory_config, precision=precision, profile=profile,
                                  optimize=optimize, copy_model=copy_model, graphs=graphs)
        self._base_ready = self.core.net  # the base network as the core runs it
        self._adapted: XMem | None = None  # clip-specific weights in use (unoptimised), None = base weights
        self.output_tile_elements = OUTPUT_TILE_ELEMENTS  # bound on upsampled probabilities held at once
        self._upload = Upload(self.device, self.geometry, channels_last=optimize)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input shape per session
        self._keyframes: dict[int, np.ndarray] = {}
        self._cancel = threading.Event()
        self.core.cancel_event = self._cancel  # cancel() also stops the frame in progress, between two stages

    # ------------------------------------------------------------ keyframes
    @property
    def keyframes(self) -> list[int]:
        return sorted(self._keyframes)

    def set_mask(self, frame: int, mask: np.ndarray) -> None:
        """Make `frame` a keyframe with this H×W index mask (user ids 1..255) at source resolution."""
        self._check_frame(frame)
        mask = np.asarray(mask)
        if mask.shape != tuple(self.frames.size):
            h, w = self.frames.size
            raise EngineError(f"mask is {mask.shape[-1]}x{mask.shape[0]} but the video is {w}x{h}")
        if mask.dtype != np.uint8:
            if mask.min() < 0 or mask.max() > 255:
                raise EngineError("mask values must be object ids between 0 and 255")
            mask = mask.astype(np.uint8)
        self._keyframes[frame] = mask.copy()

    def keyframe_mask(self, frame: int) -> np.ndarray | None:
        """The stored H×W mask of keyframe `frame` (a copy), or None."""
        mask = self._keyframes.get(frame)
        return None if mask is None else mask.copy()

    def clear_mask(self, frame: int) -> None:
        self._keyframes.pop(frame, None)

    def remove_object(self, obj_id: int) -> None:
        """Forget an object in memory and in the stored keyframes."""
        self.core.remove_objects([obj_id])
        for m in self._keyframes.values():
            m[m == obj_id] = 0

    def reset_memory(self) -> None:
        self.core.reset_memory()

    # -------------------------------------------------------------- weights
    @property
    def base_network(self) -> XMem:
        """The unoptimised network the session was built with (adaptation starts from it; never modified)."""
        if self._base is None:
            raise EngineError("this session optimised its network in place (copy_model=False): build it with "
                              "copy_model=True to adapt it")
        return self._base

    @property
    def adapted_network(self) -> XMem | None:
        """The clip-specific weights in use (unoptimised), or None while the base weights run."""
        return self._adapted

    def set_network(self, net: XMem | None, detail: dict | None = None) -> XMem | None:
        """Run with clip-specific weights `net` (None: back to the base weights) from the next frame on.

        Memory is reset (it was written by the other weights) and an "adapt" event is logged with `detail`
        (plus "base": True when returning to the base weights). Returns the adapted network in use before (None
        for the base weights), so a caller can undo with set_network(previous).
        """
        ready = self._base_ready if net is None else self.core.prepare(net.to(self.device).eval())
        info = {**(detail or {}), **({"base": True} if net is None else {})}
        self.core.swap_network(ready, info)
        previous, self._adapted = self._adapted, net
        return previous

    def update_memory_config(self, config: MemoryConfig) -> None:
        self.core.update_config(config)

    def cancel(self) -> None:
        """Ask a running `propagate()` to stop at the next stage boundary of its current frame (thread-safe)."""
        self._cancel.set()

    # ----------------------------------------------------------- propagation
    def propagate(
        self,
        start: int,
        direction: int = 1,
        stop: int | None = None,
        stop_at_keyframe: bool = True,
        overwrite_keyframes: bool = False,
        start_mask: np.ndarray | None = None,
        with_prob: bool = False,
    ) -> Iterator[FrameResult]:
        """Propagate from `start` (a keyframe, or a frame whose mask is given as `start_mask`).

        Visits start, start±1, ... up to `stop` (inclusive), the clip's end, or, with stop_at_keyframe,
        the frame before the next keyframe. Without stop_at_keyframe, keyframes met on the way are fed as
        corrections (memory frames) unless overwrite_keyframes, which predicts them like any frame.
        Stop iterating, or call cancel() (any thread): the frame in progress stops at its next stage boundary.
        """
        if direction not in (1, -1):
            raise EngineError("direction must be +1 (forward) or -1 (backward)")
        self._check_frame(start)
        first_mask = start_mask if start_mask is not None else self._keyframes.get(start)
        if first_mask is None:
            raise EngineError(f"frame {start} has no mask: paint it or start from a keyframe")
        last = self._last_frame(start, direction, stop, stop_at_keyframe)
        self._cancel.clear()
        order = list(range(start, last + direction, direction))
        ahead, here = self._prepare_stages()
        with FramePrefetcher(self.frames, order, ahead) as frames:
            for idx in order:
                if self._cancel.is_set():
                    return
                user_mask = first_mask if idx == start else self._keyframes.get(idx)
                if idx != start and overwrite_keyframes:
                    user_mask = None
                image = here(frames.get(idx))
                try:
                    result = self._process(idx, image, user_mask, end=(idx == last and idx != start),
                                           with_prob=with_prob)
                except StepCancelledError:
                    return
                yield result

    def _prepare_stages(self) -> tuple[Callable[[np.ndarray], Any], Callable[[Any], torch.Tensor]]:
        """(work done in the prefetch thread ahead of the network, work done here). Frames are always decoded
        ahead; with `prepare_ahead` (default on CUDA, where the CPU is otherwise idle) they are also prepared and
        uploaded there. On the CPU they are prepared in this thread: tensor ops in a second thread start a second
        OpenMP team beside the inference's, which on 2 cores made propagation slower (README, Performance)."""
        if self.prepare_ahead:
            return self._prepare, self._upload.receive
        return _identity, lambda frame: self._upload.receive(self._prepare(frame))

    def _prepare(self, frame: np.ndarray) -> Any:
        """Source frame -> 1×3×Hp×Wp normalised tensor (CPU), or one being uploaded on a side stream (CUDA)."""
        return self._upload.prepare(frame)

    def _last_frame(self, start: int, direction: int, stop: int | None, stop_at_keyframe: bool) -> int:
        n = len(self.frames)
        last = (n - 1 if direction > 0 else 0) if stop is None else max(0, min(n - 1, stop))
        if (last - start) * direction < 0:
            raise EngineError(f"stop frame {stop} lies behind start frame {start} for this direction")
        if stop_at_keyframe:
            ahead = [k for k in self._keyframes if (k - start) * direction > 0 and (last - k) * direction >= 0]
            if ahead:
                nearest = min(ahead, key=lambda k: abs(k - start))
                last = nearest - direction
        return last

    def _process(self, idx: int, image: torch.Tensor, user_mask: np.ndarray | None, end: bool,
                 with_prob: bool) -> FrameResult:
        geo = self.geometry
        mask_t, ids = None, None
        if user_mask is not None:
            ids = [int(i) for i in np.unique(user_mask) if i != 0]
            if not ids and not self.core.objects:
                raise EngineError(f"the mask of frame {idx} is empty: paint at least one object")
            mask_t = prepare_mask(user_mask, ids, geo, self.device)
        with torch.inference_mode():
            out = self.core.step(image, mask_t, ids, end=end, frame=idx)
            prob = to_source(out.prob, geo) if with_prob else None
            if user_mask is not None:  # a user mask is returned as given
                mask = HostMask.ready(user_mask.copy())
            elif prob is not None:
                mask = HostMask.copy_of(prob_index(prob, out.object_ids))
            else:
                mask = HostMask.copy_of(source_index(out.prob, out.object_ids, geo, self.output_tile_elements))
        return FrameResult(
            frame=idx,
            pending=mask,
            stats=out.stats,
            is_keyframe=user_mask is not None and idx in self._keyframes,
            prob=prob if with_prob else None,
            object_ids=out.object_ids,
            timings=out.timings,
        )

    def _check_frame(self, frame: int) -> None:
        if not 0 <= frame < len(self.frames):
            raise EngineError(f"frame {frame} is outside the clip (0..{len(self.frames) - 1})")


def _identity(x: Any) -> Any:
    return x
