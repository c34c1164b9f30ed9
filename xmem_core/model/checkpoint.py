"""Weights files: load_model / load_weights / save_weights / infer_config (spec §3).

Accepted inputs: our file {"format": "xmem-weights-v1", "model_config", "state_dict", "meta"}, a plain state dict
(released XMem.pth layout), a training checkpoint with a "network" key; with or without num_batches_tracked.
fp16 tensors are cast to fp32; a 4-channel (single-object) value_encoder.conv1 is padded with a zero 5th channel.
"""

from __future__ import annotations

import collections
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from xmem_core.config import ModelConfig
from xmem_core.io.atomic import atomic_save
from xmem_core.model.backbones.efficientnet_lite import LITE_STAGES
from xmem_core.model.backbones.resnet import extend_input_channels
from xmem_core.model.network import XMem

FORMAT = "xmem-weights-v1"
CONV1 = "value_encoder.conv1.weight"
STEM = "value_encoder._conv_stem.weight"


class CheckpointError(ValueError):
    """A weights file that cannot be read or does not match the network."""

    def __init__(self, message: str, missing: list[str] | None = None, unexpected: list[str] | None = None,
                 mismatched: list[str] | None = None) -> None:
        self.missing = missing or []
        self.unexpected = unexpected or []
        self.mismatched = mismatched or []
        summary, details = [], []
        for label, names in (("missing", self.missing), ("unexpected", self.unexpected),
                             ("shape mismatch", self.mismatched)):
            if names:
                first = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
                summary.append(f"{len(names)} {label} ({first})")
                shown = ", ".join(names[:20]) + (f", ... ({len(names)} total)" if len(names) > 20 else "")
                details.append(f"{label} keys ({len(names)}): {shown}")
        first_line = f"{message}: {'; '.join(summary)}" if summary else message
        super().__init__("\n".join([first_line, *details]))


def read_file(path: str | Path, what: str = "weights file") -> Any:
    """torch.load with weights_only=True (no code can run); every failure is a CheckpointError with one line.

    Training checkpoints may hold a Counter in the scheduler state, so `collections.Counter` is allowed.
    """
    path = Path(path)
    head = _head(path)
    kind = _file_kind(head)
    if kind is not None:
        raise CheckpointError(f"{path} is not a PyTorch {what}: {kind}")
    try:
        with torch.serialization.safe_globals([collections.Counter]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _GLOBAL.findall(str(exc))
        names = f" ({', '.join(dict.fromkeys(found))})" if found else ""
        raise CheckpointError(f"refused {what} {path}: it holds Python objects other than tensors{names}, which "
                              "could run code when loaded; only files of tensors and plain values are read") from None
    except Exception as exc:  # zip/pickle damage of any kind
        raise CheckpointError(f"cannot read {what} {path}: the file is damaged or truncated "
                              f"({_safe_reason(exc)})") from None


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _head(path: Path) -> bytes:
    """First bytes of the file (FileNotFoundError propagates; other OS errors become a CheckpointError)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(512)
    except (FileNotFoundError, IsADirectoryError) as exc:
        if isinstance(exc, IsADirectoryError):
            raise CheckpointError(f"{path} is a folder, not a weights file") from None
        raise
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None


def _file_kind(head: bytes) -> str | None:
    """None for a zip (torch.save) or pickle file, else what the file looks like."""
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        return None
    if not head:
        return "the file is empty"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"it starts with bytes {head[:8].hex(' ')} (a torch.save file starts with PK or 80)"
    if text.lstrip().startswith(("<", "{", "[")):
        return "it is a text file (HTML, JSON or XML; a failed download?)"
    return "it is a text file"


def _safe_reason(exc: BaseException) -> str:
    """A short reason that never repeats PyTorch's advice to load with weights_only=False."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not text or "weights_only" in text or len(text) > 120:
        return type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def unwrap(obj: Mapping[str, Any]) -> tuple[dict[str, Tensor], ModelConfig | None, dict[str, Any]]:
    """Return (state_dict, stored config or None, meta) from any accepted layout."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"weights must be a dict, got {type(obj).__name__}")
    config, meta = None, {}
    if obj.get("format") == FORMAT:
        config = ModelConfig.from_dict(obj["model_config"]) if obj.get("model_config") else None
        meta, obj = dict(obj.get("meta") or {}), obj["state_dict"]
    elif "network" in obj and isinstance(obj["network"], Mapping):
        meta, obj = {"iteration": obj.get("it")}, obj["network"]
    state = {k.removeprefix("module."): v for k, v in obj.items()}
    if not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError("weights dict holds non-tensor entries; not a state dict")
    return state, config, meta


def infer_config(state_dict: Mapping[str, Tensor]) -> ModelConfig:
    """ModelConfig from key names and shapes (spec §3.2); single_object is always False (converted on load)."""
    sd = state_dict
    try:
        key_dim = sd["key_proj.key_proj.weight"].shape[0]
        value_dim = sd["value_encoder.fuser.block2.conv2.weight"].shape[0]
        dims = tuple(sd[f"decoder.{m}.conv2.weight"].shape[0]
                     for m in ("fuser.block2", "up_16_8.out_conv", "up_8_4.out_conv"))
    except KeyError as exc:
        raise CheckpointError(f"not an XMem state dict (no {exc.args[0]})") from exc
    transform = sd.get("decoder.hidden_update.transform.weight")
    hidden_dim = transform.shape[0] // 3 if transform is not None else 0
    cfg = ModelConfig(name="custom", key_backbone=_backbone(sd, "key_encoder", "res2", "resnet50"),
                      value_backbone=_backbone(sd, "value_encoder", "layer1", "resnet18"), key_dim=key_dim,
                      value_dim=value_dim, hidden_dim=hidden_dim, decoder_dims=dims)  # type: ignore[arg-type]
    for preset in (ModelConfig.xmem(), ModelConfig.xmem_lite()):
        if cfg.with_(name=preset.name) == preset:
            return preset
    return cfg


def _backbone(sd: Mapping[str, Tensor], prefix: str, resnet_layer1: str, resnet: str) -> str:
    if f"{prefix}.{resnet_layer1}.0.conv1.weight" in sd:
        return resnet
    n_blocks = len({k.split(".")[2] for k in sd if k.startswith(f"{prefix}._blocks.")})
    last = sd.get(f"{prefix}._blocks.{n_blocks - 1}._project_conv.weight")
    for variant, stages in LITE_STAGES.items():
        if last is not None and n_blocks == sum(r for _, r in stages) and last.shape[0] == stages[-1][0]:
            return variant
    raise CheckpointError(f"cannot recognise the {prefix} backbone from the state-dict keys")


def _convert(state: dict[str, Tensor], target: Mapping[str, Tensor], extra_init: str) -> dict[str, Tensor]:
    """fp16 -> fp32, single-object 4->5 input channels (`extra_init`), missing num_batches_tracked from target."""
    out = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    for name in (CONV1, STEM):
        if name in out and name in target and out[name].shape[1] + 1 == target[name].shape[1]:
            out[name] = extend_input_channels(out[name], target[name].shape[1], extra_init)
    for k, v in target.items():
        if k.endswith("num_batches_tracked") and k not in out:
            out[k] = v.clone()
    return out


def load_weights(net: nn.Module, state_or_path: str | Path | Mapping[str, Any],
                 extra_channel_init: str = "zero") -> dict[str, Any]:
    """Strictly load weights into `net`; raises CheckpointError naming missing/unexpected/mismatched keys.

    A single-object value-encoder stem loaded into a multi-object net gets a 5th input channel initialised with
    `extra_channel_init` ("zero": evaluation, as the official eval; "orthogonal": official stage-to-stage training).
    Returns the file's meta dict (empty for plain state dicts).
    """
    obj = read_file(state_or_path) if isinstance(state_or_path, (str, Path)) else state_or_path
    state, _, meta = unwrap(obj)
    target = net.state_dict()
    state = _convert(state, target, extra_channel_init)
    _check_finite(state)
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    mismatched = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in target.items()
                  if k in state and state[k].shape != v.shape]
    if missing or unexpected or mismatched:
        raise CheckpointError("weights do not match the network", missing, unexpected, mismatched)
    net.load_state_dict(state, strict=True)
    return meta


def _check_finite(state: Mapping[str, Tensor]) -> None:
    """Refuse weights holding NaN or Inf (a damaged or diverged file would give empty or garbage masks)."""
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"the weights hold NaN or Inf values in {len(bad)} tensor(s) (first: {bad[0]}); "
                              "the file is damaged or comes from a diverged training run")


def load_model(path: str | Path, device: str | torch.device = "cpu") -> XMem:
    """Build an XMem from a weights file (ours, released, or training checkpoint) in eval mode on `device`.

    The result is always a multi-object network: single-object weights get a zero "others" channel.
    """
    state, config, _ = unwrap(read_file(path))
    if config is None:
        config = infer_config(state)
    net = XMem(config.with_(single_object=False))
    load_weights(net, {"format": FORMAT, "model_config": None, "state_dict": state})
    return net.to(device).eval()


def save_weights(net: XMem, path: str | Path, meta: dict[str, Any] | None = None, half: bool = False) -> None:
    """Atomically write our weights format (temp file in the same folder + os.replace); half: fp16 float tensors."""
    state = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().clone()
             for k, v in net.state_dict().items()}
    payload = {"format": FORMAT, "model_config": net.config.to_dict(), "state_dict": state, "meta": dict(meta or {})}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(path, lambda f: torch.save(payload, f))
