"""CSV logging (always) and TensorBoard (optional, if the package is installed)."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import torch

TRAIN_FIELDS = ["time", "stage", "iteration", "phase", "max_skip", "lr", "loss", "ce", "dice", "p", "grad_norm",
                "it_per_s", "samples_per_s", "data_wait_s"]
EVAL_FIELDS = ["time", "stage", "iteration", "J", "F", "JF", "clips", "seconds"]


class CsvLog:
    """Append rows to a CSV file, writing the header when the file is new."""

    def __init__(self, path: str | Path, fields: list[str]) -> None:
        self.path, self.fields = Path(path), fields
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            with self.path.open("w", newline="") as f:
                csv.writer(f).writerow(fields)

    def write(self, row: dict[str, Any]) -> None:
        row = {"time": round(time.time(), 3), **row}
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.fields, extrasaction="ignore").writerow(row)


class TensorBoard:
    """Thin optional wrapper around torch.utils.tensorboard (no-op when unavailable or disabled)."""

    def __init__(self, log_dir: str | Path, enabled: bool) -> None:
        self.writer = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                return
            self.writer = SummaryWriter(str(log_dir))

    def scalars(self, prefix: str, values: dict[str, float], step: int) -> None:
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(f"{prefix}/{k}", v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Meter:
    """Running sums over a logging window. Values may be device tensors: they are summed on the device and read
    back together in `means` (one host synchronisation per window instead of several per iteration)."""

    def __init__(self) -> None:
        self.sums: dict[str, float | torch.Tensor] = {}
        self.count = 0

    def add(self, values: dict[str, float | torch.Tensor]) -> None:
        for k, v in values.items():
            v = v.detach().float() if isinstance(v, torch.Tensor) else float(v)
            self.sums[k] = self.sums[k] + v if k in self.sums else v
        self.count += 1

    def means(self) -> dict[str, float]:
        on_device = {k: v for k, v in self.sums.items() if isinstance(v, torch.Tensor) and v.device.type != "cpu"}
        out = {k: float(v) for k, v in self.sums.items() if k not in on_device}
        if on_device:
            host = torch.stack([v.reshape(()) for v in on_device.values()]).tolist()  # the one sync
            out.update(zip(on_device, host, strict=True))
        return {k: v / max(self.count, 1) for k, v in out.items()}

    def reset(self) -> None:
        self.sums, self.count = {}, 0
