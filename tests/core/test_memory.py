"""Memory maths and stores on tiny tensors (spec §4, §5)."""

from __future__ import annotations

import math

import pytest
import torch

from xmem_core.config import MemoryConfig
from xmem_core.memory.manager import MemoryManager
from xmem_core.memory.similarity import get_similarity, naive_similarity, readout, topk_softmax
from xmem_core.memory.stores import ElementStore

CK, CV, H, W = 4, 3, 2, 3  # key dim, value dim, tiny grid (HW_16 = 6)


@pytest.mark.parametrize("with_shrinkage", [True, False])
@pytest.mark.parametrize("with_selection", [True, False])
def test_decomposed_similarity_equals_naive(with_shrinkage: bool, with_selection: bool) -> None:
    g = torch.Generator().manual_seed(0)
    mk = torch.randn(2, 8, 37, generator=g)
    qk = torch.randn(2, 8, 23, generator=g)
    ms = torch.rand(2, 1, 37, generator=g) + 1 if with_shrinkage else None
    qe = torch.rand(2, 8, 23, generator=g) if with_selection else None
    fast = get_similarity(mk, ms, qk, qe)
    naive = naive_similarity(mk, ms, qk, qe)
    if qe is None:  # the query-norm term is dropped: equal up to a per-query constant
        naive = naive + ((qk * qk).sum(1, keepdim=True) * (ms.transpose(1, 2) if ms is not None else 1)) / math.sqrt(8)
    torch.testing.assert_close(fast, naive, rtol=1e-5, atol=1e-4)


def test_similarity_hand_computed() -> None:
    mk = torch.tensor([[[1.0], [0.0]]])  # Ck=2, L=1
    qk = torch.tensor([[[0.0], [2.0]]])  # M=1
    ms = torch.tensor([[[3.0]]])
    qe = torch.tensor([[[0.5], [1.0]]])
    # -s * sum_c e_c (k_c - q_c)^2 / sqrt(2) = -3 * (0.5*1 + 1*4) / sqrt(2)
    expected = -3 * 4.5 / math.sqrt(2)
    assert get_similarity(mk, ms, qk, qe).item() == pytest.approx(expected)


def test_topk_softmax_matches_brute_force() -> None:
    g = torch.Generator().manual_seed(1)
    sim = torch.randn(1, 50, 7, generator=g) * 5
    aff = topk_softmax(sim, 10)[0]
    for j in range(7):
        col = sim[0, :, j]
        idx = torch.argsort(col, descending=True)[:10]
        expected = torch.zeros(50)
        expected[idx] = torch.softmax(col[idx], 0)
        torch.testing.assert_close(aff[:, j], expected)


def test_topk_is_stable_and_clamped() -> None:
    sim = torch.full((1, 5, 3), -1e4)  # the reference's exp() underflows to 0/0 here
    aff = topk_softmax(sim, 30)  # k clamped to 5
    assert torch.isfinite(aff).all()
    torch.testing.assert_close(aff.sum(1), torch.ones(1, 3))


def test_readout_shapes_and_values() -> None:
    aff = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # L=2, M=2
    mv = torch.arange(2 * 3 * 2, dtype=torch.float32).view(1, 2, 3, 2)
    out = readout(aff, mv)
    torch.testing.assert_close(out, mv)


def _frame(seed: int, n_obj: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    key = torch.randn(CK, H, W, generator=g)
    shrink = torch.rand(1, H, W, generator=g) + 1
    sel = torch.rand(CK, H, W, generator=g)
    values = torch.randn(n_obj, CV, H, W, generator=g)
    return key, shrink, sel, values


def _run_schedule(mm: MemoryManager, n_frames: int, r: int, n_obj: int = 1) -> list[tuple[int, int, int]]:
    """Simulate the inference schedule: insert frames 0, r, 2r, ...; read on every other frame."""
    sizes = []
    for t in range(n_frames):
        key, shrink, sel, values = _frame(t, n_obj)
        if t > 0:
            mm.read(key, sel)
        if t % r == 0:
            mm.add_memory(key, shrink, values, frame=t, selection=sel)
        sizes.append((t, mm.working_frames, mm.long.size))
    return sizes


def test_first_consolidation_at_frame_45_with_r5() -> None:
    cfg = MemoryConfig(r=5, T_min=5, T_max=10, P=4, LT_max=100)
    mm = MemoryManager(cfg, CK, CV)
    mm.add_objects(1)
    sizes = _run_schedule(mm, 80, r=5)
    first_lt = next(t for t, _, lt in sizes if lt > 0)
    assert first_lt == 45
    assert dict((t, wf) for t, wf, _ in sizes)[40] == 9
    assert dict((t, wf) for t, wf, _ in sizes)[45] == 5  # T_min frames after consolidation
    assert dict((t, lt) for t, _, lt in sizes)[45] == 4  # P prototypes
    assert dict((t, lt) for t, _, lt in sizes)[70] == 8  # again every 5 memory frames (25 video frames)


def test_long_term_never_exceeds_cap_over_2000_frames() -> None:
    cfg = MemoryConfig(r=5, T_min=2, T_max=4, P=4, LT_max=16)
    mm = MemoryManager(cfg, CK, CV)
    mm.add_objects(1)
    for _t, wf, lt in _run_schedule(mm, 2000, r=5):
        assert lt <= cfg.LT_max
        assert wf <= cfg.T_max
    evictions = sum(e.kind == "evict" for e in mm.take_events())
    assert evictions > 50
    assert mm.work.size <= cfg.T_max * H * W
    assert mm.long._cap == cfg.LT_max  # preallocated once, never regrown


def test_eviction_removes_exact_surplus_even_with_ties() -> None:
    cfg = MemoryConfig(r=1, T_min=2, T_max=4, P=4, LT_max=8)
    mm = MemoryManager(cfg, CK, CV)
    mm.add_objects(1)
    key, shrink, sel, values = _frame(0)
    mm.long.append(key.reshape(CK, -1).t()[:4].repeat(2, 1), torch.ones(8), torch.zeros(1, 8, CV), 0)
    assert mm.long.size == 8  # all usages tie at 0
    mm._evict_long_term()
    assert mm.long.size == cfg.LT_max - cfg.P  # exactly the surplus, not every tied element
    mm._evict_long_term()  # zero surplus: no crash, no change
    assert mm.long.size == 4


def test_usage_is_topk_mass_and_life_counts_reads() -> None:
    cfg = MemoryConfig(top_k=3, P=4, LT_max=100)
    mm = MemoryManager(cfg, CK, CV)
    mm.add_objects(1)
    key, shrink, sel, values = _frame(0)
    mm.add_memory(key, shrink, values, frame=0, selection=sel)
    mm.read(*_frame(1)[::2])
    mm.read(*_frame(2)[::2])
    assert torch.allclose(mm.work.life, torch.full((H * W,), 2 + 1e-7))
    assert mm.work.use.sum().item() == pytest.approx(2 * H * W, rel=1e-5)  # each read gives M units of mass


def test_objects_added_mid_video_and_removed_after_consolidation() -> None:
    cfg = MemoryConfig(r=1, T_min=3, T_max=6, P=4, LT_max=16)
    mm = MemoryManager(cfg, CK, CV)
    mm.add_objects(1)
    for t in range(8):
        key, shrink, sel, values = _frame(t, mm.num_objects)
        if t:
            mm.read(key, sel)
        if t == 3:
            mm.add_objects(1)  # a second object appears at frame 3
            values = _frame(t, 2)[3]
        mm.add_memory(key, shrink, values, frame=t, selection=sel)
    assert mm.long.size > 0
    # the late object is valid exactly on elements written at or after frame 3
    for store in (mm.work, mm.long):
        assert torch.equal(store.valid[1], store.frame >= 3)
        assert torch.all(store.values[1][~store.valid[1]] == 0)
    out = mm.read(*_frame(99, 1)[::2])
    assert out.shape == (2, CV, H, W) and torch.isfinite(out).all()
    for t in range(8, 30):  # keep going through consolidations and evictions with two objects
        key, shrink, sel, values = _frame(t, 2)
        mm.read(key, sel)
        mm.add_memory(key, shrink, values, frame=t, selection=sel)
        assert mm.long.size <= cfg.LT_max
    mm.remove_objects([0])
    assert mm.num_objects == 1 and mm.work.values.shape[0] == 1 and mm.long.values.shape[0] == 1
    assert mm.read(*_frame(100, 1)[::2]).shape == (1, CV, H, W)


def test_late_object_reads_only_its_own_elements() -> None:
    """A value written for object 1 must never be read through a key from before it existed."""
    cfg = MemoryConfig(top_k=30, long_term=True)
    mm = MemoryManager(cfg, CK, CV)
    mm.add_objects(1)
    key, shrink, sel, _ = _frame(0)
    mm.add_memory(key, shrink, torch.zeros(1, CV, H, W), frame=0, selection=sel)
    mm.add_objects(1)
    key2, shrink2, sel2, _ = _frame(1)
    values = torch.stack([torch.zeros(CV, H, W), torch.full((CV, H, W), 7.0)])
    mm.add_memory(key2, shrink2, values, frame=1, selection=sel2)
    out = mm.read(key, sel)  # query equal to frame 0's key
    torch.testing.assert_close(out[1], torch.full((CV, H, W), 7.0))


def test_store_keep_compacts_in_place() -> None:
    st = ElementStore(CK, CV, with_selection=False)
    st.add_objects(1)
    key = torch.arange(CK * 5, dtype=torch.float32).view(5, CK)
    st.append(key, torch.ones(5), torch.zeros(1, 5, CV), frame=torch.arange(5))
    st.keep(torch.tensor([1, 3]))
    assert st.size == 2
    torch.testing.assert_close(st.key, key[[1, 3]])
    scale = 1 / CK ** 0.5  # shrinkage 1
    torch.testing.assert_close(st.terms[:, CK:-1], key[[1, 3]] ** 2 * scale)
    torch.testing.assert_close(st.terms[:, -1], torch.full((2,), scale))
    assert st.frame.tolist() == [1, 3]


def test_without_long_term_working_memory_stays_bounded() -> None:
    cfg = MemoryConfig(r=1, T_min=2, T_max=4, long_term=False)
    mm = MemoryManager(cfg, CK, CV)
    mm.add_objects(1)
    for t in range(20):
        key, shrink, sel, values = _frame(t)
        if t:
            mm.read(key, None)
        mm.add_memory(key, shrink, values, frame=t)
        assert mm.working_frames < cfg.T_max
    assert mm.work.frame[: H * W].eq(0).all()  # the first frame is kept


def _dense_read(mm: MemoryManager, key: torch.Tensor, sel: torch.Tensor) -> torch.Tensor:
    """Reference computation: similarity over [LT | WM], dense top-k affinity, values @ affinity."""
    stores = [mm.long, mm.work] if mm.long.size else [mm.work]
    mk = torch.cat([s.key for s in stores], 0).t()[None]
    ms = torch.cat([s.shrinkage for s in stores], 0)[None, None]
    sim = get_similarity(mk, ms, key.reshape(CK, -1)[None], sel.reshape(CK, -1)[None])
    aff = topk_softmax(sim, mm.config.top_k)[0]  # L×M
    values = torch.cat([s.values for s in stores], 1)  # N×L×Cv
    return torch.einsum("nlc,lm->ncm", values, aff).reshape(values.shape[0], CV, H, W)


def test_sparse_read_equals_dense_reference() -> None:
    cfg = MemoryConfig(r=1, T_min=2, T_max=4, P=3, LT_max=12, top_k=5)
    mm = MemoryManager(cfg, CK, CV)
    mm.add_objects(2)
    for t in range(9):
        key, shrink, sel, values = _frame(t, 2)
        if t:
            q = _frame(100 + t)
            torch.testing.assert_close(mm.read(q[0], q[2]), _dense_read(mm, q[0], q[2]), rtol=1e-4, atol=1e-5)
        mm.add_memory(key, shrink, values, frame=t, selection=sel)
    assert mm.long.size > 0


def test_csr_and_gather_readouts_agree() -> None:
    """The CPU (CSR) and CUDA (gather) readouts compute the same thing; both are checked here on the CPU."""
    from xmem_core.memory.read import csr_readout, gather_readout

    g = torch.Generator().manual_seed(3)
    values = torch.randn(40, CV, generator=g)
    local = torch.randint(0, 40, (11, 5), generator=g)
    weights = torch.softmax(torch.randn(11, 5, generator=g), 1)
    expected = torch.stack([(weights[m, :, None] * values[local[m]]).sum(0) for m in range(11)])
    torch.testing.assert_close(csr_readout(local, weights, values), expected)
    torch.testing.assert_close(gather_readout(local, weights, values), expected)


@pytest.mark.parametrize("block", [1, 50])
def test_blocked_read_equals_one_block(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Scores computed a few query rows at a time (bounded workspace) give the same readout, usage and
    consolidations as one block, with two validity patterns (an object added mid-video)."""
    import xmem_core.memory.manager as manager

    cfg = MemoryConfig(r=1, T_min=2, T_max=4, P=3, LT_max=12, top_k=5)
    whole, blocked = MemoryManager(cfg, CK, CV), MemoryManager(cfg, CK, CV)
    for mm in (whole, blocked):
        mm.add_objects(1)
    for t in range(10):
        if t == 4:
            for mm in (whole, blocked):
                mm.add_objects(1)
        key, shrink, sel, values = _frame(t, whole.num_objects)
        if t:
            q = _frame(100 + t)
            expected = whole.read(q[0], q[2])
            monkeypatch.setattr(manager, "SCORE_BLOCK", block)  # block // L rows, at least one row per block
            got = blocked.read(q[0], q[2])
            monkeypatch.undo()
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(blocked.work.use, whole.work.use)
        for mm in (whole, blocked):
            mm.add_memory(key, shrink, values, frame=t, selection=sel)
    assert whole.long.size == blocked.long.size > 0
    assert blocked._scores is not None and blocked._scores.numel() <= max(block, H * W * 20)


def test_all_valid_flag_tracks_validity_and_skips_grouping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores know on the host when every element is valid for every object, so a read needs no data-dependent
    grouping (a device synchronisation on a GPU); the flag is exact after compaction, and reads are identical."""
    import xmem_core.memory.manager as manager

    cfg = MemoryConfig(r=1, T_min=2, T_max=4, P=4, LT_max=12)
    mm = MemoryManager(cfg, CK, CV)
    mm.add_objects(2)
    grouped: list[int] = []
    group = manager._group_by_validity
    monkeypatch.setattr(manager, "_group_by_validity", lambda v: grouped.append(1) or group(v))
    for t in range(12):  # two objects from the start: consolidations, evictions, never a grouping
        key, shrink, sel, values = _frame(t, 2)
        if t:
            mm.read(key, sel)
        mm.add_memory(key, shrink, values, frame=t, selection=sel)
    assert mm.long.size > 0 and mm.work.all_valid and mm.long.all_valid and not grouped
    key, _, sel, _ = _frame(50, 2)
    fast = mm.read(key, sel)
    mm.work.all_valid = mm.long.all_valid = False  # force the general path: same result
    torch.testing.assert_close(mm.read(key, sel), fast, rtol=0, atol=0)
    assert grouped
    mm.work.all_valid = mm.long.all_valid = True
    mm.add_objects(1)  # a late object: invalid for every stored element
    assert not mm.work.all_valid and not mm.long.all_valid
    for t in range(12, 40):
        key, shrink, sel, values = _frame(t, 3)
        mm.read(key, sel)
        mm.add_memory(key, shrink, values, frame=t, selection=sel)
    assert not bool(mm.work.valid.all())  # the pinned first frame predates the late object
    for st in (mm.work, mm.long):
        assert not st.all_valid or bool(st.valid.all())  # the flag never claims more than is true
        st.keep(torch.arange(st.size))
        assert st.all_valid == bool(st.valid.all())  # and is exact after a compaction
    st = ElementStore(CK, CV, with_selection=False)
    st.add_objects(1)
    st.append(torch.ones(3, CK), torch.ones(3), torch.zeros(1, 3, CV), frame=0)
    st.add_objects(1)
    st.append(torch.ones(2, CK), torch.ones(2), torch.zeros(2, 2, CV), frame=1)
    assert not st.all_valid
    st.keep(torch.tensor([3, 4]))  # only the elements written after the second object remain
    assert st.all_valid
