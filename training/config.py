"""Training configuration: dataclasses, JSON/YAML files and dotted `key=value` overrides.

A run is a list of stages (static pretraining, then main video training); each stage owns its data, schedule and
optimiser settings. Presets live in `training.presets`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xmem_core.config import ModelConfig


@dataclass
class DataSource:
    """One dataset folder. kind: "static" (image+mask pairs), "davis" or "youtube" (video clips), or "paste"
    (image+mask pairs whose objects a video stage pastes onto clips as extra objects; never sampled on their own)."""

    path: str
    kind: str = "static"
    repeat: int = 1  # how many times the source is listed (paper: DAVIS ×5, BIG/HRSOD ×5)
    layout: str = "auto"  # static/paste only: auto | split | flat | davis
    every: int = 1  # static/paste only: keep every k-th pair (e.g. frames of a video dataset)
    subset: str | None = None  # video only: text file of clip names to keep
    paste: bool = False  # video only: compose multi-object samples by pasting other clips' objects


@dataclass
class StageConfig:
    """One training stage. Iteration counts are per stage; the LR steps and loss warm-up restart each stage."""

    name: str = "main"
    data: list[DataSource] = field(default_factory=list)
    single_object: bool = False  # stage-0 network: value encoder without the "others" channel
    iterations: int = 100_000
    finetune_iterations: int = 10_000  # extra iterations without per-frame rotation/shear (video only)
    batch_size: int = 8  # global batch (split across DDP ranks)
    lr: float = 1e-5
    lr_reference_batch: int = 0  # batch `lr` was tuned for (0 = batch_size); lr scales with `lr_scaling`
    lr_scaling: str = "sqrt"  # none | linear | sqrt
    weight_decay: float = 0.05
    lr_steps: list[int] = field(default_factory=lambda: [80_000])  # MultiStepLR milestones (iterations)
    lr_gamma: float = 0.1
    warmup_iterations: int = 0  # linear LR warm-up (0 in the paper)
    grad_clip: float = 0.0  # max global grad norm; 0 disables (the official code does not clip)
    size: int = 384  # square crop side
    num_frames: int = 8
    num_ref_frames: int = 3  # memory frames per query (frame 0 included)
    max_objects: int = 3  # object slots per sample
    deep_update_prob: float = 0.2
    skip_values: list[int] = field(default_factory=lambda: [5, 10, 15, 5])
    skip_milestones: list[float] = field(default_factory=lambda: [0.1, 0.3, 0.9])
    start_warm: int = 20_000  # bootstrapped-CE warm-up start / end (iterations of this stage)
    end_warm: int = 70_000
    top_p: float = 0.15
    crop_scale: list[float] = field(default_factory=lambda: [0.36, 1.0])
    paste_prob: float = 0.5  # chance to paste objects onto a sample (sources with paste=true)
    paste_image_prob: float = 0.5  # chance that a pasted object comes from a "paste" source rather than a clip
    max_short: int = 0  # decode frames at most this short side (0 = full size); saves time for small crops

    @property
    def total_iterations(self) -> int:
        return self.iterations + (self.finetune_iterations if self.is_video else 0)

    @property
    def is_video(self) -> bool:
        return any(d.kind in ("davis", "youtube") for d in self.data)

    def rescale(self, iterations: int) -> None:
        """Set `iterations`, scaling LR steps, loss warm-up and fine-tune length proportionally."""
        f = iterations / max(self.iterations, 1)
        self.lr_steps = [round(m * f) for m in self.lr_steps]
        self.start_warm, self.end_warm = round(self.start_warm * f), round(self.end_warm * f)
        self.finetune_iterations = round(self.finetune_iterations * f)
        self.warmup_iterations = round(self.warmup_iterations * f)
        self.iterations = iterations

    def rescale_total(self, total: int) -> None:
        """`rescale` so that `total_iterations` becomes `total` (main : fine-tune ratio kept, at least 1 main)."""
        share = self.iterations / max(self.total_iterations, 1) if self.is_video else 1.0
        self.rescale(max(1, round(total * share)))
        if self.is_video:
            self.finetune_iterations = max(0, total - self.iterations)

    def effective_lr(self) -> float:
        """`lr` scaled from `lr_reference_batch` to `batch_size` by `lr_scaling`."""
        ref = self.lr_reference_batch or self.batch_size
        ratio = self.batch_size / ref
        scale = {"none": 1.0, "linear": ratio, "sqrt": ratio**0.5}[self.lr_scaling]
        return self.lr * scale


@dataclass
class EvalConfig:
    """Periodic evaluation on a DAVIS-layout folder (J&F through the engine)."""

    root: str = ""  # "" disables evaluation
    every: int = 0  # iterations between evaluations (0 = only at stage ends)
    size: int = 480  # processing short side
    max_frames: int = 0  # frames per clip (0 = all)
    clips: list[str] = field(default_factory=list)  # subset of clips ([] = all)


@dataclass
class TrainConfig:
    """A whole run: the model, the stages, and runtime settings."""

    model: str = "xmem"  # xmem | xmem-lite
    model_overrides: dict[str, Any] = field(default_factory=dict)  # ModelConfig fields (tests use tiny dims)
    imagenet: bool = True  # ImageNet init of the backbones (Lite: from the PyPI packages)
    resnet50_weights: str | None = None  # torchvision-format files for the `xmem` model
    resnet18_weights: str | None = None
    init_weights: str | None = None  # start from a weights file instead (e.g. skip stage 0)
    stage_transfer_init: str = "orthogonal"  # init of the "others" channel going single -> multi object
    stages: list[StageConfig] = field(default_factory=list)
    out_dir: str = "runs/train"
    seed: int = 14159265
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed-precision autocast (CUDA only; dtype from amp_dtype)
    amp_dtype: str = "auto"  # auto (bf16 where the GPU has it, else fp16) | bf16 (no GradScaler) | fp16 (+GradScaler)
    channels_last: bool = True  # NHWC layout of the network and its input frames (tensor-core convolutions)
    fused_adamw: bool = True  # fused AdamW kernel on CUDA (the CPU keeps the foreach implementation)
    cudnn_benchmark: bool = True  # cuDNN autotuning (input shapes are fixed within a stage)
    tf32: bool = True  # TF32 matmuls/convolutions for the fp32 work on CUDA (loss, aggregation, no-AMP runs)
    compile: bool = False  # torch.compile the per-frame stages (encode_key/encode_value/segment); eager on failure
    compile_mode: str = "default"  # torch.compile mode: default | max-autotune-no-cudagraphs
    num_workers: int = 4
    worker_start: str = "forkserver"  # loader workers' start method: forkserver | spawn | fork (fork can deadlock)
    persistent_workers: bool = True  # keep loader workers alive for the whole stage (started before the model builds)
    pin_memory: bool = True
    prefetch_factor: int = 4
    cache_mb: int = 512  # decoded-frame cache per worker process (0 disables)
    threads: int = 0  # torch CPU threads (0 = torch default)
    log_every: int = 10  # CSV rows / progress-bar refresh
    save_every: int = 25_000  # inference-weights snapshots (iterations)
    checkpoint_every: int = 5_000  # full resumable checkpoints (iterations)
    tensorboard: bool = False
    half_weights: bool = False  # write `final.pth` (the shipped inference weights) in fp16; stage files stay fp32
    eval: EvalConfig = field(default_factory=EvalConfig)


# ---------------------------------------------------------------- validation

CHOICES = {  # (class, field) -> allowed values (the model name is checked by ModelConfig.by_name)
    (TrainConfig, "stage_transfer_init"): ("orthogonal", "zeros"),
    (TrainConfig, "worker_start"): ("forkserver", "spawn", "fork"),
    (TrainConfig, "amp_dtype"): ("auto", "bf16", "fp16"),
    (TrainConfig, "compile_mode"): ("default", "max-autotune-no-cudagraphs"),
    (StageConfig, "lr_scaling"): ("none", "linear", "sqrt"),
    (DataSource, "kind"): ("static", "davis", "youtube", "paste"),
    (DataSource, "layout"): ("auto", "split", "flat", "davis"),
}
AT_LEAST = {  # (class, field) -> smallest allowed value
    (TrainConfig, "num_workers"): 0, (TrainConfig, "prefetch_factor"): 1, (TrainConfig, "cache_mb"): 0,
    (TrainConfig, "threads"): 0, (TrainConfig, "log_every"): 1, (TrainConfig, "save_every"): 1,
    (TrainConfig, "checkpoint_every"): 1, (StageConfig, "iterations"): 0, (StageConfig, "finetune_iterations"): 0,
    (StageConfig, "batch_size"): 1, (StageConfig, "size"): 16, (StageConfig, "num_frames"): 2,
    (StageConfig, "num_ref_frames"): 1, (StageConfig, "max_objects"): 1, (DataSource, "repeat"): 1,
    (DataSource, "every"): 1,
}


FLAGS = ("amp", "channels_last", "fused_adamw", "cudnn_benchmark", "tf32", "compile", "persistent_workers",
         "pin_memory", "half_weights", "imagenet", "tensorboard")  # TrainConfig switches: JSON booleans only


def validate(cfg: TrainConfig) -> None:
    """Raise ValueError naming the first field whose value is not one of its choices or is below its minimum."""
    ModelConfig.by_name(cfg.model)  # an unknown model name raises, listing the known ones
    for name in FLAGS:
        if not isinstance(getattr(cfg, name), bool):
            raise ValueError(f"{name} must be true or false, not {getattr(cfg, name)!r}")
    items: list[tuple[str, Any]] = [("", cfg)]
    for i, st in enumerate(cfg.stages):
        items.append((f"stages.{i}.", st))
        items += [(f"stages.{i}.data.{j}.", src) for j, src in enumerate(st.data)]
    for prefix, obj in items:
        for (cls, name), allowed in CHOICES.items():
            if type(obj) is cls and getattr(obj, name) not in allowed:
                raise ValueError(f"{prefix}{name} must be one of {', '.join(allowed)}, not {getattr(obj, name)!r}")
        for (cls, name), low in AT_LEAST.items():
            if type(obj) is not cls:
                continue
            value = getattr(obj, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{prefix}{name} must be an integer of at least {low}, not {value!r}")


# ---------------------------------------------------------------- (de)serialisation


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(tp: Any, value: Any) -> Any:
    """Convert plain JSON data to the annotated type (dataclasses, lists of dataclasses, scalars)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return from_dict(tp, value)
    if origin is list and isinstance(value, list):
        (arg,) = typing.get_args(tp)
        return [_build(arg, v) for v in value]
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return value if value is None else _build(args[0], value)
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def from_dict(cls: type, d: dict[str, Any]) -> Any:
    """Build dataclass `cls` from a dict; unknown keys raise ValueError (typos should not pass silently)."""
    hints = _hints(cls)
    unknown = set(d) - set(hints)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return cls(**{k: _build(hints[k], v) for k, v in d.items()})


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON (or, if PyYAML is installed, YAML) config file into a dict."""
    text = Path(path).read_text()
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        import yaml  # optional dependency

        return yaml.safe_load(text)
    return json.loads(text)


def save_config(cfg: TrainConfig, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(to_dict(cfg), indent=2))


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_override(cfg: TrainConfig, dotted: str) -> None:
    """Apply "a.b.c=value" (value parsed as JSON, else a string). `stages.*.x=v` sets x on every stage."""
    if "=" not in dotted:
        raise ValueError(f"override {dotted!r} is not key=value")
    path, raw = dotted.split("=", 1)
    parts = path.strip().split(".")
    targets: list[Any] = [cfg]
    for p in parts[:-1]:
        nxt: list[Any] = []
        for t in targets:
            try:
                if isinstance(t, list):
                    nxt += t if p == "*" else [t[int(p)]]
                else:
                    nxt.append(getattr(t, p) if not isinstance(t, dict) else t[p])
            except (IndexError, ValueError, KeyError, AttributeError):
                raise ValueError(f"override {dotted!r}: {path!r} names nothing at {p!r}") from None
        targets = nxt
    for t in targets:
        _set(t, parts[-1], _parse_value(raw))


def _set(obj: Any, name: str, value: Any) -> None:
    if isinstance(obj, dict):
        obj[name] = value
        return
    hints = _hints(type(obj))
    if name not in hints:
        raise ValueError(f"unknown {type(obj).__name__} field {name!r}")
    setattr(obj, name, _build(hints[name], value))
