"""Key-value element stores for working and long-term memory (plain classes, preallocated buffers).

Element-major layout (no batch axis; inference runs one video at a time):
  key        L×Ck     the memory keys
  terms      L×(2Ck+1)  [key | key² | 1]·s/√Ck: the memory side of the decomposed similarity, cached at insertion
                        (read.py multiplies it with the query side in one matmul)
  shrinkage  L        s >= 1 (float32)
  selection  L×Ck     only in working memory with long-term memory enabled (needed for potentiation)
  values     N×L×Cv   one value per object and element (float32: the sparse readout runs in fp32)
  valid      N×L      False where an object did not exist yet when the element was written
  use, life  L        usage counters (float32): normalised usage = use / life
  frame      L        source frame index each element came from (int64)

Storing every object's values aligned with *all* keys plus a validity mask replaces the reference's
suffix-aligned "object groups" (spec §4.4, §5.9): consolidation, eviction and object removal cut the
same elements for every object, so late objects can never be misaligned with keys.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

NEW_LIFE = 1e-7  # life of a new element (spec §4.3)
_ELEMENT_AXIS = {"values": 1, "valid": 1}  # every other buffer has elements on axis 0


class ElementStore:
    """A growable set of memory elements with usage counters. Buffers grow geometrically (or are
    preallocated to a capacity hint) and are compacted in place: insertion never re-concatenates."""

    def __init__(self, key_dim: int, value_dim: int, with_selection: bool, capacity_hint: int = 0) -> None:
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.with_selection = with_selection
        self.capacity_hint = capacity_hint
        self.size = 0
        self.num_objects = 0
        self._cap = 0
        self._buf: dict[str, Tensor] = {}
        # host-side knowledge that every element is valid for every object, so that a read needs no
        # data-dependent grouping (a device synchronisation per frame on a GPU); False means "unknown"
        self.all_valid = True

    # ----------------------------------------------------------------- views
    def _view(self, name: str) -> Tensor:
        return self._buf[name].narrow(_ELEMENT_AXIS.get(name, 0), 0, self.size)

    @property
    def key(self) -> Tensor:
        """L×Ck."""
        return self._view("key")

    @property
    def terms(self) -> Tensor:
        """L×(2Ck+1): [key | key² | 1] · shrinkage / √Ck (see `memory.read.query_terms` for the query side)."""
        return self._view("terms")

    @property
    def shrinkage(self) -> Tensor:
        """L."""
        return self._view("shrinkage")

    @property
    def selection(self) -> Tensor | None:
        """L×Ck or None."""
        return self._view("selection") if self.with_selection and self._buf else None

    @property
    def values(self) -> Tensor:
        """N×L×Cv."""
        return self._view("values")

    @property
    def valid(self) -> Tensor:
        """N×L bool."""
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

    # --------------------------------------------------------------- growing
    def _allocate(self, cap: int, device: torch.device) -> None:
        ck, cv, n = self.key_dim, self.value_dim, self.num_objects
        shapes = {
            "key": ((cap, ck), torch.float32),
            "terms": ((cap, 2 * ck + 1), torch.float32),
            "shrinkage": ((cap,), torch.float32),
            "values": ((n, cap, cv), torch.float32),
            "valid": ((n, cap), torch.bool),
            "use": ((cap,), torch.float32),
            "life": ((cap,), torch.float32),
            "frame": ((cap,), torch.int64),
        }
        if self.with_selection:
            shapes["selection"] = ((cap, ck), torch.float32)
        new = {name: torch.zeros(shape, dtype=dt, device=device) for name, (shape, dt) in shapes.items()}
        for name, old in self._buf.items():
            axis = _ELEMENT_AXIS.get(name, 0)
            new[name].narrow(axis, 0, self.size).copy_(old.narrow(axis, 0, self.size))
        self._buf = new
        self._cap = cap

    def _reserve(self, extra: int, device: torch.device) -> None:
        need = self.size + extra
        if need > self._cap:
            self._allocate(max(need, 2 * self._cap, self.capacity_hint), device)

    # -------------------------------------------------------------- mutation
    def append(
        self,
        key: Tensor,
        shrinkage: Tensor,
        values: Tensor,
        frame: int | Tensor,
        selection: Tensor | None = None,
        valid: Tensor | None = None,
        valid_all: bool = False,
    ) -> None:
        """Append n elements. key: n×Ck, shrinkage: n, values: N×n×Cv, selection: n×Ck, valid: N×n
        (None: all valid; valid_all: the caller knows `valid` is all True)."""
        n = key.shape[0]
        self.all_valid = self.all_valid and (valid is None or valid_all)
        if values.shape[0] != self.num_objects:
            raise ValueError(f"values hold {values.shape[0]} objects, store has {self.num_objects}")
        if self.with_selection and selection is None:
            raise ValueError("this store keeps selection terms; none given")
        self._reserve(n, key.device)
        s, e = self.size, self.size + n
        b = self._buf
        key = key.float()
        b["key"][s:e] = key
        b["shrinkage"][s:e] = shrinkage
        scale = b["shrinkage"][s:e, None] / math.sqrt(self.key_dim)
        terms = b["terms"][s:e]
        terms[:, : self.key_dim] = key * scale
        terms[:, self.key_dim : 2 * self.key_dim] = key * key * scale
        terms[:, 2 * self.key_dim :] = scale
        b["values"][:, s:e] = values
        b["valid"][:, s:e] = True if valid is None else valid
        if self.with_selection:
            b["selection"][s:e] = selection
        b["use"][s:e] = 0.0
        b["life"][s:e] = NEW_LIFE
        b["frame"][s:e] = frame
        self.size = e

    def keep(self, index: Tensor) -> None:
        """Keep only the elements at `index` (1-D long tensor, any order), compacting in place."""
        n = int(index.numel())
        for name, buf in self._buf.items():
            axis = _ELEMENT_AXIS.get(name, 0)
            kept = buf.narrow(axis, 0, self.size).index_select(axis, index)
            buf.narrow(axis, 0, n).copy_(kept)
        self.size = n
        if not self.all_valid:  # compaction may have dropped the last elements some object lacked
            self.all_valid = n == 0 or bool(self._buf["valid"][:, :n].all())

    def remove(self, index: Tensor) -> None:
        """Drop the elements at `index`."""
        mask = torch.ones(self.size, dtype=torch.bool, device=index.device)
        mask[index] = False
        self.keep(mask.nonzero().flatten())

    def add_usage(self, usage: Tensor) -> None:
        """usage: L (mass each element received in one read); every element's life grows by 1."""
        self._buf["use"][: self.size] += usage.float()
        self._buf["life"][: self.size] += 1.0

    def add_objects(self, count: int) -> None:
        """Register `count` new objects: zero values, invalid for every existing element."""
        self.num_objects += count
        if self.size > 0:
            self.all_valid = False
        if not self._buf:
            return
        old_v, old_ok = self._buf["values"], self._buf["valid"]
        self._buf["values"] = torch.cat([old_v, old_v.new_zeros((count, self._cap, self.value_dim))], 0)
        self._buf["valid"] = torch.cat([old_ok, old_ok.new_zeros((count, self._cap))], 0)

    def remove_objects(self, slots: list[int]) -> None:
        """Forget the objects at these slots (their values and validity rows)."""
        drop = set(slots)
        keep = [i for i in range(self.num_objects) if i not in drop]
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
        self.all_valid = True

    def nbytes(self) -> int:
        """Bytes held by the buffers (capacity, not just size)."""
        return sum(t.numel() * t.element_size() for t in self._buf.values())
