"""CSV logging (always) and TensorBoard (optional, if the package is installed)."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

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
    """Running averages over a logging window."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.count += 1

    def means(self) -> dict[str, float]:
        return {k: v / max(self.count, 1) for k, v in self.sums.items()}

    def reset(self) -> None:
        self.sums, self.count = {}, 0
