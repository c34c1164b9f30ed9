"""Key-value element stores for working and long-term memory (plain classes, preallocated buffers).

Layout (no batch axis; inference runs one video at a time):
  key        Ck×L     memory keys (shared by every object)
  shrinkage  1×L      s >= 1
  selection  Ck×L     only in working memory with long-term memory enabled (needed for potentiation)
  values     N×Cv×L   one value per object and element
  valid      N×L      False where an object did not exist yet when the element was written
  use, life  L        usage counters (float32): normalised usage = use / life
  frame      L        source frame index each element came from (int64)

Storing every object's values aligned with *all* keys plus a validity mask replaces the reference's
suffix-aligned "object groups" (spec §4.4, §5.9): consolidation, eviction and object removal cut the
same columns for every object, so late objects can never be misaligned with keys.
"""

from __future__ import annotations

import torch
from torch import Tensor

NEW_LIFE = 1e-7  # life of a new element (spec §4.3)


class ElementStore:
    """A growable set of memory elements with usage counters. Buffers grow geometrically and are
    compacted in place, so per-frame insertion never re-concatenates the whole store."""

    def __init__(self, key_dim: int, value_dim: int, with_selection: bool, capacity_hint: int = 0) -> None:
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.with_selection = with_selection
        self.capacity_hint = capacity_hint
        self.size = 0
        self.num_objects = 0
        self._cap = 0
        self._buf: dict[str, Tensor] = {}

    # ----------------------------------------------------------------- views
    def _view(self, name: str) -> Tensor:
        return self._buf[name][..., : self.size]

    @property
    def key(self) -> Tensor:
        return self._view("key")

    @property
    def shrinkage(self) -> Tensor:
        return self._view("shrinkage")

    @property
    def selection(self) -> Tensor | None:
        return self._view("selection") if self.with_selection and self._buf else None

    @property
    def values(self) -> Tensor:
        return self._view("values")

    @property
    def valid(self) -> Tensor:
        return self._view("valid")

    @property
    def use(self) -> Tensor:
        return self._view("use")

    @property
    def life(self) -> Tensor:
        return self._view("life")

    @property
    def frame(self) -> Tensor:
        return self._view("frame")

    def normalized_usage(self) -> Tensor:
        """use / life per element: L."""
        return self.use / self.life

    # -------------------------------------------------------------- growing
    def _allocate(self, cap: int, like: Tensor, value_dtype: torch.dtype) -> None:
        dev, kd = like.device, like.dtype
        shapes = {
            "key": ((self.key_dim, cap), kd),
            "shrinkage": ((1, cap), torch.float32),
            "values": ((self.num_objects, self.value_dim, cap), value_dtype),
            "valid": ((self.num_objects, cap), torch.bool),
            "use": ((cap,), torch.float32),
            "life": ((cap,), torch.float32),
            "frame": ((cap,), torch.int64),
        }
        if self.with_selection:
            shapes["selection"] = ((self.key_dim, cap), kd)
        new = {name: torch.zeros(shape, dtype=dt, device=dev) for name, (shape, dt) in shapes.items()}
        for name, old in self._buf.items():
            new[name][..., : self.size] = old[..., : self.size]
        self._buf = new
        self._cap = cap

    def _reserve(self, extra: int, like: Tensor, value_dtype: torch.dtype) -> None:
        need = self.size + extra
        if need <= self._cap:
            return
        cap = max(need, 2 * self._cap, self.capacity_hint)
        self._allocate(cap, like, value_dtype)

    # ------------------------------------------------------------- mutation
    def append(
        self,
        key: Tensor,
        shrinkage: Tensor,
        values: Tensor,
        frame: int | Tensor,
        selection: Tensor | None = None,
        valid: Tensor | None = None,
    ) -> None:
        """Append n elements. key: Ck×n, shrinkage: 1×n, values: N×Cv×n, selection: Ck×n, valid: N×n."""
        n = key.shape[-1]
        if values.shape[0] != self.num_objects:
            raise ValueError(f"values hold {values.shape[0]} objects, store has {self.num_objects}")
        if self.with_selection and selection is None:
            raise ValueError("this store keeps selection terms; none given")
        self._reserve(n, key, values.dtype)
        s, e = self.size, self.size + n
        b = self._buf
        b["key"][:, s:e] = key
        b["shrinkage"][:, s:e] = shrinkage
        b["values"][:, :, s:e] = values
        b["valid"][:, s:e] = True if valid is None else valid
        if self.with_selection:
            b["selection"][:, s:e] = selection
        b["use"][s:e] = 0.0
        b["life"][s:e] = NEW_LIFE
        b["frame"][s:e] = frame
        self.size = e

    def keep(self, index: Tensor) -> None:
        """Keep only the elements at `index` (1-D long tensor, any order), compacting in place."""
        n = int(index.numel())
        for name, buf in self._buf.items():
            kept = buf[..., : self.size].index_select(buf.dim() - 1, index)
            buf[..., :n] = kept
        self.size = n

    def remove(self, index: Tensor) -> None:
        """Drop the elements at `index`."""
        mask = torch.ones(self.size, dtype=torch.bool, device=index.device)
        mask[index] = False
        self.keep(mask.nonzero().flatten())

    def update_usage(self, usage: Tensor) -> None:
        """usage: L (mass each element received in one read); every element's life grows by 1."""
        self._buf["use"][: self.size] += usage.float()
        self._buf["life"][: self.size] += 1.0

    def add_objects(self, count: int) -> None:
        """Register `count` new objects: zero values, invalid for every existing element."""
        self.num_objects += count
        if not self._buf:
            return
        old_v, old_ok = self._buf["values"], self._buf["valid"]
        pad_v = old_v.new_zeros((count, self.value_dim, self._cap))
        pad_ok = old_ok.new_zeros((count, self._cap))
        self._buf["values"] = torch.cat([old_v, pad_v], 0)
        self._buf["valid"] = torch.cat([old_ok, pad_ok], 0)

    def remove_objects(self, slots: list[int]) -> None:
        """Forget the objects at these slots (their values and validity rows)."""
        keep = [i for i in range(self.num_objects) if i not in set(slots)]
        self.num_objects = len(keep)
        if not self._buf:
            return
        idx = torch.tensor(keep, dtype=torch.long, device=self._buf["values"].device)
        self._buf["values"] = self._buf["values"].index_select(0, idx)
        self._buf["valid"] = self._buf["valid"].index_select(0, idx)

    def clear(self) -> None:
        self.size = 0
        self._buf = {}
        self._cap = 0

    def nbytes(self) -> int:
        """Bytes held by the buffers (capacity, not just size)."""
        return sum(t.numel() * t.element_size() for t in self._buf.values())
