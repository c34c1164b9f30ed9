"""Full resumable training checkpoints (model, optimiser, scheduler, scaler, position, RNG) written atomically.

Checkpoints are read with ``torch.load(weights_only=True)``: a file can hold tensors and plain Python values only,
so a crafted ``--resume`` file cannot run code. RNG states are stored as tensors and plain values for that reason;
checkpoints written before that (numpy's state as an ndarray) load through an allow-list of numpy's array types.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xmem_core.io.atomic import atomic_save as _atomic_save
from xmem_core.model.checkpoint import CheckpointError, read_file

FORMAT = "xmem-train-v1"


def rng_state() -> dict[str, Any]:
    """Python, numpy (legacy global), torch CPU and CUDA generator states as tensors and plain values."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": [version, torch.tensor(mt, dtype=torch.int64), gauss],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` returned (also the ndarray/tuple layout of older checkpoints)."""
    version, mt, gauss = state["python"]
    random.setstate((version, tuple(int(v) for v in (mt.tolist() if torch.is_tensor(mt) else mt)), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    keys = keys.numpy() if torch.is_tensor(keys) else np.asarray(keys)
    np.random.set_state((name, keys.astype(np.uint32), int(pos), int(has_gauss), float(cached)))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj: Any, path: str | Path) -> None:
    """torch.save through a temp file in the same folder, fsync and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(path, lambda f: torch.save(obj, f))


def save_checkpoint(path: str | Path, *, stage: int, it: int, net: torch.nn.Module, optimizer: Any, scheduler: Any,
                    scaler: Any, config: dict[str, Any]) -> None:
    """`it` is the next iteration to run in stage `stage`."""
    atomic_save({
        "format": FORMAT, "stage": stage, "it": it, "config": config,
        "model_config": net.config.to_dict(),  # type: ignore[union-attr]
        "network": net.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(), "rng": rng_state(),
    }, path)


def _legacy_numpy_globals() -> list[Any]:
    """numpy's array-rebuilding types (older checkpoints pickled numpy's RNG state as an ndarray)."""
    multiarray = getattr(np, "_core", None) or np.core
    return [multiarray.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint` with weights_only=True; raises CheckpointError."""
    with torch.serialization.safe_globals(_legacy_numpy_globals()):
        ckpt = read_file(path, what="training checkpoint")
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a training checkpoint ({FORMAT})")
    return ckpt
