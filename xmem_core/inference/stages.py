"""Running the fixed-shape network stages (key encoder, decoder, value encoder): eagerly, or captured once per input
signature as CUDA graphs and replayed.

A stage is a function of tensors (some may be None) returning a tuple of tensors (some may be None); everything
else that shapes it (flags such as need_sk or is_deep_update) is its `variant`. The memory read is not a stage: its
length L grows with the memory, so it stays eager.

`GraphRunner` holds the bookkeeping (warm-up, capture, replay, LRU bound, capture failures, invalidation) and is
independent of CUDA: it drives a `GraphBackend`, which tests replace by a fake that emulates replay on the CPU.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

log = logging.getLogger(__name__)

Tensors = tuple[Tensor | None, ...]
StageFn = Callable[..., Tensors]


class StageRunner(Protocol):
    """Runs `fn(*inputs)` for the stage `name` in its `variant`; returns tensors the caller owns."""

    def run(self, name: str, variant: Hashable, fn: StageFn, inputs: Tensors) -> Tensors: ...

    def invalidate(self) -> None:
        """Forget everything captured (call after the network's weights were replaced)."""


class EagerRunner:
    """Calls the stage directly (the CPU path, and CUDA without graphs)."""

    def run(self, name: str, variant: Hashable, fn: StageFn, inputs: Tensors) -> Tensors:
        return fn(*inputs)

    def invalidate(self) -> None:
        pass


class GraphBackend(Protocol):
    """What `GraphRunner` needs from a graph implementation."""

    def warmup(self, fn: StageFn, inputs: Tensors) -> Tensors:
        """Run `fn` eagerly as a warm-up before its capture (CUDA: on a side stream, as capture requires)."""

    def capture(self, fn: StageFn, inputs: Tensors) -> tuple[Callable[[], None], Tensors]:
        """Capture `fn(*inputs)` on these (static) inputs. Returns (replay, static outputs): each replay recomputes
        the outputs in place from the current contents of the static inputs."""


class CudaGraphBackend:
    """torch.cuda.CUDAGraph capture; all graphs of a runner share one memory pool (replays are sequential on one
    stream and outputs are cloned right after each replay, so no graph reads memory another graph wrote)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.stream = torch.cuda.Stream(device)
        self.pool = torch.cuda.graph_pool_handle()

    def warmup(self, fn: StageFn, inputs: Tensors) -> Tensors:
        current = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(current)
        with torch.cuda.stream(self.stream):
            out = fn(*inputs)
        current.wait_stream(self.stream)
        return out

    def capture(self, fn: StageFn, inputs: Tensors) -> tuple[Callable[[], None], Tensors]:
        graph = torch.cuda.CUDAGraph()
        # thread_local: the frame-prefetch thread keeps allocating and uploading on its own stream meanwhile
        with torch.cuda.graph(graph, pool=self.pool, capture_error_mode="thread_local"):
            out = fn(*inputs)
        return graph.replay, out


@dataclass
class _Graph:
    replay: Callable[[], None]
    inputs: Tensors  # static input buffers, refilled before each replay
    outputs: Tensors  # static outputs, overwritten by each replay


@dataclass
class GraphStats:
    """Counters of a GraphRunner (for tests, benchmarks and the log)."""

    warmups: int = 0
    captures: int = 0
    replays: int = 0
    evictions: int = 0
    failures: int = 0
    eager: int = 0  # calls run eagerly because their capture failed
    errors: list[str] = field(default_factory=list)  # one line per failed capture


def signature(inputs: Tensors) -> tuple:
    """What a captured graph is specialised to: per input, None or (shape, strides, dtype, device)."""
    return tuple(None if x is None else (tuple(x.shape), x.stride(), x.dtype, str(x.device)) for x in inputs)


class GraphRunner:
    """Captures each (stage, variant, input signature) after `warmup` eager calls, then replays it.

    At most `max_graphs` graphs are kept (least recently used dropped), so processing sizes and object counts that
    come and go do not accumulate memory. A capture that raises is logged and that signature runs eagerly from
    then on. Outputs are clones: the caller may keep them across later replays.
    """

    def __init__(self, backend: GraphBackend, warmup: int = 2, max_graphs: int = 24) -> None:
        self.backend = backend
        self.warmup = warmup
        self.max_graphs = max(1, max_graphs)
        self.stats = GraphStats()
        self._graphs: OrderedDict[Hashable, _Graph] = OrderedDict()
        self._seen: dict[Hashable, int] = {}
        self._failed: set[Hashable] = set()

    def __len__(self) -> int:
        return len(self._graphs)

    def run(self, name: str, variant: Hashable, fn: StageFn, inputs: Tensors) -> Tensors:
        key = (name, variant, signature(inputs))
        graph = self._graphs.get(key)
        if graph is None:
            if key in self._failed:
                self.stats.eager += 1
                return fn(*inputs)
            seen = self._seen.get(key, 0)
            if seen < self.warmup:
                self._seen[key] = seen + 1
                self.stats.warmups += 1
                return self.backend.warmup(fn, inputs)
            graph = self._capture(key, name, fn, inputs)
            if graph is None:
                self.stats.eager += 1
                return fn(*inputs)
        self._graphs.move_to_end(key)
        for static, x in zip(graph.inputs, inputs, strict=True):
            if static is not None:
                static.copy_(x)
        graph.replay()
        self.stats.replays += 1
        return tuple(None if y is None else y.clone() for y in graph.outputs)

    def _capture(self, key: Hashable, name: str, fn: StageFn, inputs: Tensors) -> _Graph | None:
        static = tuple(None if x is None else x.clone() for x in inputs)
        try:
            replay, outputs = self.backend.capture(fn, static)
        except Exception as exc:  # noqa: BLE001 - any capture failure falls back to the eager stage
            self._failed.add(key)
            self.stats.failures += 1
            self.stats.errors.append(f"{name}: {type(exc).__name__}: {exc}".splitlines()[0])
            log.warning("CUDA graph capture of %s failed, running it eagerly: %s", name, exc)
            return None
        self._seen.pop(key, None)
        graph = _Graph(replay, static, tuple(outputs))
        self._graphs[key] = graph
        self.stats.captures += 1
        while len(self._graphs) > self.max_graphs:
            self._graphs.popitem(last=False)
            self.stats.evictions += 1
        return graph

    def invalidate(self) -> None:
        self._graphs.clear()
        self._seen.clear()
        self._failed.clear()


def make_runner(device: torch.device, graphs: bool) -> StageRunner:
    """CUDA graphs on a CUDA device when `graphs` (and the environment does not set XMEM_CUDA_GRAPHS=0, a switch
    for comparing with and without graphs without touching code), else the eager runner."""
    if graphs and device.type == "cuda" and os.environ.get("XMEM_CUDA_GRAPHS", "1") != "0":
        return GraphRunner(CudaGraphBackend(device))
    return EagerRunner()
