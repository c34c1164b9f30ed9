"""Sensory memory: one hidden state per object, updated by the decoder GRU and the deep update."""

from __future__ import annotations

import torch
from torch import Tensor


class SensoryMemory:
    """Holds the hidden state 1×N×Ch×h×w (None until the first object is registered)."""

    def __init__(self, hidden_dim: int) -> None:
        self.hidden_dim = hidden_dim
        self.hidden: Tensor | None = None
        self._pending = 0  # objects registered before the grid size is known

    @property
    def num_objects(self) -> int:
        return 0 if self.hidden is None else self.hidden.shape[1]

    def get(self) -> Tensor | None:
        """Current hidden state 1×N×Ch×h×w, or None when the model has no sensory memory."""
        return self.hidden if self.hidden_dim > 0 else None

    def set(self, hidden: Tensor | None) -> None:
        if hidden is not None and self.hidden_dim > 0:
            self.hidden = hidden

    def add_objects(self, count: int, grid: tuple[int, int], like: Tensor) -> None:
        """Append zero states for `count` new objects on a h×w grid."""
        if count <= 0 or self.hidden_dim <= 0:
            return
        zeros = torch.zeros((1, count, self.hidden_dim, *grid), dtype=torch.float32, device=like.device)
        self.hidden = zeros if self.hidden is None else torch.cat([self.hidden, zeros.to(self.hidden.dtype)], 1)

    def remove_objects(self, slots: list[int]) -> None:
        if self.hidden is None:
            return
        drop = set(slots)
        keep = [i for i in range(self.num_objects) if i not in drop]
        self.hidden = self.hidden[:, keep] if keep else None

    def clear(self) -> None:
        self.hidden = None
