"""Hand-checked maths: GRU-like cell, soft aggregation, memory read; xmem-lite forward shapes."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from xmem_core.config import ModelConfig
from xmem_core.model.aggregate import aggregate
from xmem_core.model.modules import HiddenReinforcer, gru_update
from xmem_core.model.network import XMem

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def lite() -> XMem:
    torch.manual_seed(0)
    return XMem(ModelConfig.xmem_lite()).eval()


def test_gru_update_by_hand() -> None:
    values = torch.tensor([0.3, -1.2, 0.7]).view(1, 1, 3, 1, 1)  # [forget, update, candidate] for Ch = 1
    h = torch.tensor([0.5]).view(1, 1, 1, 1, 1)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    f, u, c = sig(0.3), sig(-1.2), math.tanh(0.7)
    expected = f * 0.5 * (1 - u) + u * c
    assert gru_update(values, h).item() == pytest.approx(expected, rel=1e-6)


def test_reinforcer_input_order_is_value_then_hidden() -> None:
    torch.manual_seed(0)
    cell = HiddenReinforcer(g_dim=3, hidden_dim=2)
    g, h = torch.randn(1, 2, 3, 4, 4), torch.randn(1, 2, 2, 4, 4)
    x = torch.cat([g, h], 2).flatten(0, 1)
    values = F.conv2d(x, cell.transform.weight, cell.transform.bias, padding=1).view(1, 2, 6, 4, 4)
    f, u, c = values[:, :, :2].sigmoid(), values[:, :, 2:4].sigmoid(), values[:, :, 4:].tanh()
    torch.testing.assert_close(cell(g, h), f * h * (1 - u) + u * c)


def test_aggregate_by_hand() -> None:
    p1, p2 = 0.3, 0.6
    prob = torch.tensor([p1, p2]).view(1, 2, 1, 1)
    logits, out = aggregate(prob)
    bg = (1 - p1) * (1 - p2)
    odds = [math.log(p / (1 - p)) for p in (bg, p1, p2)]
    z = sum(math.exp(o) for o in odds)
    assert logits.flatten().tolist() == pytest.approx(odds, rel=1e-5)
    assert out.flatten().tolist() == pytest.approx([math.exp(o) / z for o in odds], rel=1e-5)


def test_aggregate_one_hot_is_nearly_one_hot() -> None:
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(1, 2, 1, 2)
    _, out = aggregate(mask)
    assert out[0, 1, 0, 0] > 1 - 1e-6 and out[0, 2, 0, 1] > 1 - 1e-6 and out[0, 0].max() < 1e-6


def _brute_read(qk, qe, mk, ms, mv):
    b, ck, h, w = qk.shape
    q, e = qk.flatten(2)[0], qe.flatten(2)[0]
    k, s, v = mk[0], ms[0, 0], mv[0]
    length, m = k.shape[1], q.shape[1]
    sim = torch.empty(length, m, dtype=torch.float64)
    for i in range(length):
        for j in range(m):
            sim[i, j] = -s[i] * (e[:, j] * (k[:, i] - q[:, j]) ** 2).sum() / math.sqrt(ck)
    aff = torch.exp(sim - sim.max(0, keepdim=True).values)
    aff = aff / aff.sum(0, keepdim=True)
    out = torch.einsum("ncl,lm->ncm", v.double(), aff)
    return out.view(1, v.shape[0], v.shape[1], h, w)


def test_read_memory_full_softmax_brute_force(lite: XMem) -> None:
    torch.manual_seed(1)
    qk, qe = torch.randn(1, 8, 2, 3), torch.rand(1, 8, 2, 3)
    mk, ms, mv = torch.randn(1, 8, 10), torch.rand(1, 1, 10) + 1, torch.randn(1, 2, 5, 10)
    expected = _brute_read(qk, qe, mk, ms, mv)
    got = lite.read_memory(qk, qe, mk, ms, mv, top_k=None)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(lite.read_memory(qk, qe, mk, ms, mv, top_k=10), got, rtol=1e-5, atol=1e-6)


def test_lite_forward_shapes(lite: XMem) -> None:
    b, n, size = 2, 3, 64
    img = torch.randn(b, 3, size, size)
    with torch.no_grad():
        kf = lite.encode_key(img, need_sk=True, need_ek=False)
        assert kf.key.shape == (b, 64, 4, 4) and kf.shrinkage.shape == (b, 1, 4, 4) and kf.selection is None
        assert kf.shrinkage.min() >= 1
        assert kf.f16.shape == (b, 120, 4, 4) and kf.f8.shape == (b, 48, 8, 8) and kf.f4.shape == (b, 24, 16, 16)
        masks = torch.rand(b, n, size, size)
        value, hidden = lite.encode_value(img, kf.f16, None, masks)
        assert value.shape == (b, n, 256, 4, 4) and hidden.shape == (b, n, 64, 4, 4)
        _, same = lite.encode_value(img, kf.f16, hidden, masks, is_deep_update=False)
        assert same is hidden
        readout = lite.read_memory(kf.key, None, kf.key.flatten(2), kf.shrinkage.flatten(2), value.flatten(3))
        new_h, logits, prob = lite.segment(kf, readout, hidden, selector=torch.tensor([[1, 1, 0], [1, 0, 0]]))
        assert new_h.shape == hidden.shape and logits.shape == (b, n + 1, size, size) and prob.shape == (b, n, 64, 64)
        assert prob[0, 2].max() < 1e-6 and prob[1, 1:].max() < 1e-6
        no_h, _, prob_bg = lite.segment(kf, readout, hidden, h_out=False, strip_bg=False)
        assert no_h is None and prob_bg.shape == (b, n + 1, size, size)
        torch.testing.assert_close(prob_bg.sum(1), torch.ones(b, size, size))


def test_others_channel_is_sum_of_other_masks(lite: XMem) -> None:
    img, masks = torch.randn(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        f16 = lite.encode_key(img, False, False).f16
        v, _ = lite.encode_value(img, f16, None, masks)
        others = torch.stack([masks[:, [1, 2]].sum(1), masks[:, [0, 2]].sum(1), masks[:, [0, 1]].sum(1)], 1)
        v2, _ = lite.value_encoder(img, f16, None, masks, others)
    torch.testing.assert_close(v, v2)


def test_no_sensory_and_single_object_lite() -> None:
    img = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        net = XMem(ModelConfig.xmem_lite().with_(hidden_dim=0, single_object=True)).eval()
        kf = net.encode_key(img)
        value, hidden = net.encode_value(img, kf.f16, None, torch.rand(1, 1, 32, 32))
        assert hidden is None and net.value_encoder._conv_stem.weight.shape[1] == 4
        h, logits, _ = net.segment(kf, value, None)
    assert h is None and logits.shape == (1, 2, 32, 32)
