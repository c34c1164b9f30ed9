"""MemoryManager: working + long-term memory, reading with joint top-k, consolidation and LFU eviction.

Spec §4-§5, with the reference's bugs fixed on purpose:
  * top-k is max-subtracted and k is clamped to the number of readable elements (§4.2);
  * prototype selection guards against fewer than P candidates (§5.6);
  * eviction removes exactly the surplus by normalised usage, so ties cannot over-remove, and a
    zero-removal cannot crash (§5.8);
  * objects added mid-video are stored aligned with all keys plus a validity mask (see stores.py), so
    consolidation and eviction work with any number of object "groups", and objects can be removed (§5.9);
  * each object group's first frame is pinned in working memory like the first frame (up to
    T_max - T_min pinned frames), so a late object keeps its own annotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from xmem_core.config import MemoryConfig
from xmem_core.memory.log import MemoryEvent
from xmem_core.memory.read import TopK, joint_topk, query_terms, scores, sparse_readout, split, usage
from xmem_core.memory.similarity import full_softmax, get_similarity
from xmem_core.memory.stores import ElementStore

SCORE_BLOCK = 1 << 24  # elements of the reused similarity workspace: 64 MB of fp32 scores per block of query rows


@dataclass
class _FrameEntry:
    """One working-memory frame (a block of HW_16 consecutive elements)."""

    frame: int  # source frame index
    pinned: bool  # never consolidated (first memory frame, an object group's first frame)


class MemoryManager:
    """Holds working and long-term memory for one video; all tensors without batch axis."""

    def __init__(self, config: MemoryConfig, key_dim: int, value_dim: int) -> None:
        self.config = config
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.hw = 0  # HW_16, fixed at the first insertion
        self.work = ElementStore(key_dim, value_dim, with_selection=config.long_term)
        self.long = ElementStore(key_dim, value_dim, with_selection=False, capacity_hint=config.LT_max)
        self.frames: list[_FrameEntry] = []
        self.pending_anchor = True  # next inserted frame is pinned (first frame / new objects)
        self.events: list[MemoryEvent] = []
        self._scores: Tensor | None = None  # reused similarity workspace (see _blocked_topk)

    # ------------------------------------------------------------ objects
    @property
    def num_objects(self) -> int:
        return self.work.num_objects

    def add_objects(self, count: int) -> None:
        """New objects get zero values, invalid for all existing elements; their first frame is pinned."""
        if count <= 0:
            return
        self.work.add_objects(count)
        self.long.add_objects(count)
        if self.work.size > 0:
            self.pending_anchor = True

    def remove_objects(self, slots: list[int]) -> None:
        self.work.remove_objects(slots)
        self.long.remove_objects(slots)

    # ------------------------------------------------------------ sizes
    @property
    def working_frames(self) -> int:
        return len(self.frames)

    @property
    def working_capacity(self) -> int:
        return self.config.T_max * self.hw

    def is_empty(self) -> bool:
        return self.work.size == 0

    # ------------------------------------------------------------ reading
    def read(self, query_key: Tensor, query_selection: Tensor | None) -> Tensor:
        """Read memory for every object. query_key, query_selection: Ck×h×w -> readout N×Cv×h×w.

        One joint top-k over [LT | WM] per distinct validity pattern (objects introduced together share
        one); usage is counted from the affinity over all elements (the reference's group 0).
        """
        ck, h, w = query_key.shape
        q = query_terms(query_key.reshape(ck, -1), _flat(query_selection))
        use_long = self.config.long_term and self.long.size > 0
        stores = [self.long, self.work] if use_long else [self.work]
        if all(st.all_valid for st in stores):  # the common case, decided on the host: one group, no pattern
            groups: list[tuple[Tensor | None, list[int]]] = [(None, list(range(self.num_objects)))]
            patterns: list[Tensor | None] = [None]
            full: int | None = 0
        else:
            valid = torch.cat([st.valid for st in stores], -1)  # N×L
            groups = [(p, slots) for p, slots in _group_by_validity(valid) if bool(p.any())]  # all-invalid: zeros
            patterns = [p for p, _ in groups]
            full = next((i for i, p in enumerate(patterns) if p is not None and bool(p.all())), None)
        if self.config.long_term and full is None:
            full = len(patterns)
            patterns.append(None)
        tops = self._blocked_topk(q, stores, patterns)
        out = q.new_zeros((self.num_objects, h * w, self.value_dim))
        for (_, slots), top in zip(groups, tops, strict=False):
            offset = 0
            for st in stores:
                local, weights = split(top, offset, st.size)
                for slot in slots:
                    out[slot] += sparse_readout(local, weights, st.values[slot])
                offset += st.size
        if self.config.long_term:
            self._count_usage(tops[full], stores)
        return out.transpose(1, 2).reshape(self.num_objects, self.value_dim, h, w)

    def _blocked_topk(self, q: Tensor, stores: list[ElementStore], patterns: list[Tensor | None]) -> list[TopK]:
        """Joint top-k for every pattern, computing the M×L scores in blocks of query rows.

        q: M×(2Ck+1). The scores of one block go into a reused workspace of at most SCORE_BLOCK elements, so
        a read never allocates (and page-faults) a fresh M×L matrix, and memory stays bounded at any resolution.
        """
        m, total = q.shape[0], sum(st.size for st in stores)
        rows = max(1, min(m, SCORE_BLOCK // max(total, 1)))
        space = self._workspace(rows * total, q.device)
        blocks: list[list[TopK]] = [[] for _ in patterns]
        for r0 in range(0, m, rows):
            qb = q[r0 : r0 + rows]
            raw, used = [], 0
            for st in stores:
                raw.append(scores(st, qb, out=space[used : used + qb.shape[0] * st.size].view(qb.shape[0], st.size)))
                used += qb.shape[0] * st.size
            for i, pattern in enumerate(patterns):
                blocks[i].append(self._topk(raw, stores, pattern))
        return [TopK(torch.cat([b.weights for b in bl]), torch.cat([b.index for b in bl])) for bl in blocks]

    def _workspace(self, numel: int, device: torch.device) -> Tensor:
        """A flat fp32 buffer of at least `numel` elements, kept between reads (grown, never shrunk)."""
        if self._scores is None or self._scores.numel() < numel or self._scores.device != device:
            self._scores = torch.empty(numel, device=device)
        return self._scores

    def _topk(self, raw: list[Tensor], stores: list[ElementStore], pattern: Tensor | None) -> TopK:
        """Joint top-k over the stores' scores restricted to `pattern` (L bool over [stores...]) or all."""
        if pattern is None or bool(pattern.all()):
            return joint_topk(raw, self.config.top_k)
        parts, offset = [], 0
        for s, st in zip(raw, stores, strict=True):
            ok = pattern[offset : offset + st.size]
            parts.append(s.masked_fill(~ok[None], float("-inf")))
            offset += st.size
        return joint_topk(parts, min(self.config.top_k, int(pattern.sum())))

    def _count_usage(self, top: TopK, stores: list[ElementStore]) -> None:
        """Add one read's usage to working memory, and to long-term memory when it counts usage (spec §4.3)."""
        offset = 0
        for st in stores:
            if st is self.work or self.config.count_usage:
                st.add_usage(usage(top, offset, st.size))
            offset += st.size

    # ------------------------------------------------------------ writing
    def add_memory(
        self,
        key: Tensor,
        shrinkage: Tensor,
        values: Tensor,
        frame: int,
        selection: Tensor | None = None,
    ) -> None:
        """Insert one frame. key: Ck×h×w, shrinkage: 1×h×w, values: N×Cv×h×w, selection: Ck×h×w."""
        ck, h, w = key.shape
        if self.hw == 0:
            self.hw = h * w
        elif self.hw != h * w:
            raise ValueError(f"memory frame grid {h}x{w} differs from the first memory frame's ({self.hw} elements)")
        sel = _flat(selection) if self.config.long_term else None
        if self.config.long_term and sel is None:
            raise ValueError("long-term memory needs the selection term of memory frames")
        self.work.append(
            key.reshape(ck, -1).t(),
            shrinkage.reshape(-1).float(),
            values.reshape(values.shape[0], self.value_dim, -1).transpose(1, 2),
            frame,
            selection=None if sel is None else sel.t(),
        )
        self.frames.append(_FrameEntry(frame=frame, pinned=self.pending_anchor))
        self.pending_anchor = False
        self._enforce_pin_budget()
        self.events.append(MemoryEvent("insert", {"frame": frame, "elements": self.hw}))
        if self.working_frames >= self.config.T_max:
            if self.config.long_term:
                self._evict_long_term()
                self._consolidate()
            else:
                self._drop_oldest_unpinned()

    def _enforce_pin_budget(self) -> None:
        """At most T_max - T_min pinned frames (so that each consolidation has candidates);
        the first frame stays pinned, the oldest other anchors are released first."""
        budget = self.config.T_max - self.config.T_min
        pinned = [i for i, f in enumerate(self.frames) if f.pinned]
        for i in pinned[1:][: max(0, len(pinned) - budget)]:
            self.frames[i].pinned = False

    def _candidate_frames(self) -> list[int]:
        """Working-memory frame positions eligible for consolidation: not pinned, not among the newest T_min - 1."""
        recent = self.config.T_min - 1
        last = len(self.frames) - recent
        return [i for i in range(last) if not self.frames[i].pinned]

    def _frame_elements(self, positions: list[int]) -> Tensor:
        dev = self.work.key.device
        if not positions:
            return torch.zeros(0, dtype=torch.long, device=dev)
        starts = torch.tensor(positions, device=dev) * self.hw
        return (starts[:, None] + torch.arange(self.hw, device=dev)[None]).flatten()

    def _forget_frames(self, positions: list[int]) -> None:
        """Remove these working-memory frames (positions in `self.frames`) and their elements."""
        self.work.remove(self._frame_elements(positions))
        drop = set(positions)
        self.frames = [f for i, f in enumerate(self.frames) if i not in drop]

    def _drop_oldest_unpinned(self) -> None:
        """Without long-term memory: forget the candidate frames (working memory back to T_min frames)."""
        self._forget_frames(self._candidate_frames())

    def _consolidate(self) -> None:
        """Turn the candidate frames into P prototypes in long-term memory (spec §5.5-5.7)."""
        positions = self._candidate_frames()
        if not positions:
            return
        idx = self._frame_elements(positions)
        w = self.work
        usage = w.normalized_usage().index_select(0, idx)
        n_proto = min(self.config.P, int(idx.numel()))
        top = torch.topk(usage, n_proto, sorted=True).indices  # positions within the candidates
        cand_key = w.key.index_select(0, idx).t()  # Ck×C
        cand_shrink = w.shrinkage.index_select(0, idx)[None]  # 1×C
        cand_values = w.values.index_select(1, idx)  # N×C×Cv
        cand_valid = w.valid.index_select(1, idx)  # N×C
        proto_key = cand_key.index_select(1, top)  # Ck×P
        proto_sel = w.selection.index_select(0, idx).index_select(0, top).t()  # Ck×P
        sim = get_similarity(cand_key[None], cand_shrink[None], proto_key[None], proto_sel[None])[0]  # C×P
        proto_values, proto_shrink = _potentiate(sim, cand_values, cand_shrink, cand_valid, w.all_valid)
        proto_valid = cand_valid.index_select(1, top)
        proto_frames = w.frame.index_select(0, idx).index_select(0, top)
        self.long.append(proto_key.t(), proto_shrink[0], proto_values, proto_frames, valid=proto_valid,
                         valid_all=w.all_valid)
        self._forget_frames(positions)
        self.events.append(MemoryEvent("consolidate", {"candidates": int(idx.numel()), "prototypes": n_proto}))

    def _evict_long_term(self) -> None:
        """LFU eviction down to LT_max - P elements before consolidating (spec §5.8, exact count)."""
        target = self.config.LT_max - self.config.P
        surplus = self.long.size - target
        if surplus <= 0:
            return
        if self.config.count_usage:
            order = torch.argsort(self.long.normalized_usage(), stable=True)
        else:  # no usage counted: evict the oldest prototypes (FIFO)
            order = torch.arange(self.long.size, device=self.long.key.device)
        self.long.remove(order[:surplus])
        self.events.append(MemoryEvent("evict", {"removed": int(surplus)}))

    def take_events(self) -> list[MemoryEvent]:
        events, self.events = self.events, []
        return events


def _potentiate(sim: Tensor, cand_values: Tensor, cand_shrink: Tensor, cand_valid: Tensor,
                all_valid: bool = False) -> tuple[Tensor, Tensor]:
    """Prototype values and shrinkage as softmax-weighted averages of candidates (full softmax, spec §5.7).

    sim: C×P (candidates × prototypes), cand_values: N×C×Cv, cand_shrink: 1×C, cand_valid: N×C (all True when
    the caller knows `all_valid`; then no grouping is computed). Each object averages only over candidates it has
    values for. Returns (N×P×Cv, 1×P).
    """
    weights_all = full_softmax(sim[None])[0]  # C×P
    proto_shrink = cand_shrink @ weights_all
    out = cand_values.new_zeros((cand_values.shape[0], sim.shape[1], cand_values.shape[2]))
    if all_valid:
        for slot in range(cand_values.shape[0]):
            out[slot] = weights_all.t() @ cand_values[slot]
        return out, proto_shrink
    for pattern, slots in _group_by_validity(cand_valid):
        if not bool(pattern.any()):
            continue
        weights = weights_all
        if not bool(pattern.all()):
            weights = full_softmax(sim.masked_fill(~pattern[:, None], float("-inf"))[None])[0]
        for slot in slots:
            out[slot] = weights.t() @ cand_values[slot]
    return out, proto_shrink


def _flat(x: Tensor | None) -> Tensor | None:
    """Ck×h×w -> Ck×M (None stays None)."""
    return None if x is None else x.reshape(x.shape[0], -1)


def _group_by_validity(valid: Tensor) -> list[tuple[Tensor, list[int]]]:
    """Group object slots with identical validity rows. valid: N×L -> [(pattern L, slots)]."""
    groups: list[tuple[Tensor, list[int]]] = []
    for slot in range(valid.shape[0]):
        for pattern, slots in groups:
            if torch.equal(pattern, valid[slot]):
                slots.append(slot)
                break
        else:
            groups.append((valid[slot], [slot]))
    return groups
