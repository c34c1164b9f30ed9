"""Device-level speed settings of a training run: AMP dtype, cuDNN/TF32, channels-last, fused AdamW, torch.compile.

Everything here is chosen from `TrainConfig` fields and is shared by the trainer and `benchmarks/bench_train.py`, so
the benchmark measures exactly what training runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from training.config import StageConfig, TrainConfig
from xmem_core.model.network import XMem

log = logging.getLogger(__name__)


def check_device(device: torch.device) -> None:
    """ValueError with a one-line reason when `device` is a CUDA device this process cannot use."""
    if device.type != "cuda":
        return
    if not torch.cuda.is_available():
        raise ValueError(f"device {device} was asked for, but torch {torch.__version__} sees no CUDA GPU")
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device {device} was asked for, but only {torch.cuda.device_count()} CUDA GPU(s) exist")


def amp_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None = fp32). AMP is CUDA-only; "auto" picks bf16 where the GPU supports it, else fp16."""
    if not cfg.amp or device.type != "cuda":
        return None
    if cfg.amp_dtype == "fp16":
        return torch.float16
    if cfg.amp_dtype == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def needs_scaler(dtype: torch.dtype | None) -> bool:
    """fp16 gradients underflow without loss scaling; bf16 has fp32's exponent range and needs none."""
    return dtype == torch.float16


def configure_backends(cfg: TrainConfig, device: torch.device) -> None:
    """cuDNN autotuning and TF32 (process-wide switches; no effect on the CPU)."""
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = cfg.cudnn_benchmark
    torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
    torch.backends.cudnn.allow_tf32 = cfg.tf32


def prepare_network(net: XMem, cfg: TrainConfig, device: torch.device) -> XMem:
    """Move to the device, in channels-last layout when configured (4-D weights only; values are unchanged)."""
    net = net.to(device)
    return net.to(memory_format=torch.channels_last) if cfg.channels_last else net


def make_optimizer(params: Iterable[nn.Parameter], stage: StageConfig, cfg: TrainConfig,
                   device: torch.device) -> torch.optim.AdamW:
    """AdamW at the stage's effective LR; the fused kernel on CUDA when `fused_adamw` (one launch per step)."""
    fused = cfg.fused_adamw and device.type == "cuda"
    return torch.optim.AdamW(params, lr=stage.effective_lr(), weight_decay=stage.weight_decay,
                             **({"fused": True} if fused else {}))


class SafeCompiled:
    """`torch.compile(fn)` that falls back to `fn` (logged once) when compilation fails at a call.

    Compilation is lazy, so a failure shows at the first call with new shapes; from then on the eager function is
    used. Errors of the eager function itself still propagate (the fallback call raises them again).
    """

    def __init__(self, fn: Callable[..., Any], name: str, mode: str = "default",
                 compiler: Callable[..., Callable[..., Any]] | None = None) -> None:
        self.eager, self.name = fn, name
        compile_fn = compiler or torch.compile
        try:
            self.compiled: Callable[..., Any] | None = compile_fn(fn, mode=mode, dynamic=False)
        except Exception as exc:  # e.g. no compiler backend on this platform
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        log.warning("torch.compile of %s failed (%s: %s); running it eagerly", self.name, type(exc).__name__, exc)
        self.compiled = None

    @property
    def active(self) -> bool:
        return self.compiled is not None

    def disable(self, exc: BaseException) -> None:
        """Fall back to eager for good (used when a compiled graph fails later, e.g. in its backward)."""
        if self.compiled is not None:
            self._fail(exc)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except torch.OutOfMemoryError:
                raise
            except Exception as exc:
                self._fail(exc)
        return self.eager(*args, **kwargs)


class FrameStages:
    """The per-frame stages of a network, each eager or compiled; what `training.forward.run_clip` calls.

    `read_memory` stays eager (its memory length changes from query to query); the three others see one shape
    per stage and compile to a handful of graphs.
    """

    STAGES = ("encode_key", "encode_value", "segment")

    def __init__(self, net: XMem, compile: bool = False, mode: str = "default",
                 compiler: Callable[..., Callable[..., Any]] | None = None) -> None:
        self.net, self.config = net, net.config
        self.read_memory = net.read_memory
        self.wrapped: list[SafeCompiled] = []
        for name in self.STAGES:
            fn = getattr(net, name)
            if compile:
                fn = SafeCompiled(fn, name, mode, compiler)
                self.wrapped.append(fn)
            setattr(self, name, fn)

    @property
    def compiled(self) -> bool:
        """True while any stage still runs compiled."""
        return any(w.active for w in self.wrapped)

    def to_eager(self, exc: BaseException) -> None:
        for w in self.wrapped:
            w.disable(exc)
