"""Checkpoint loading/saving: our format, released plain state dicts, training checkpoints, conversions, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from xmem_core.config import ModelConfig
from xmem_core.model.checkpoint import CheckpointError, infer_config, load_model, load_weights, save_weights
from xmem_core.model.network import XMem

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def paper() -> XMem:
    torch.manual_seed(0)
    return XMem(ModelConfig.xmem()).eval()


@pytest.fixture(scope="module")
def lite() -> XMem:
    torch.manual_seed(0)
    return XMem(ModelConfig.xmem_lite()).eval()


def _outputs(net: XMem) -> list[torch.Tensor]:
    torch.manual_seed(3)
    img, masks = torch.randn(1, 3, 64, 64), torch.rand(1, 2, 64, 64)
    with torch.no_grad():
        kf = net.encode_key(img)
        value, hidden = net.encode_value(img, kf.f16, None, masks)
        readout = net.read_memory(kf.key, kf.selection, kf.key.flatten(2), kf.shrinkage.flatten(2), value.flatten(3))
        hidden, logits, prob = net.segment(kf, readout, hidden)
    return [kf.key, value, hidden, logits, prob]


def _assert_same(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)


def test_save_load_identical_outputs(lite: XMem, tmp_path: Path) -> None:
    path = tmp_path / "lite.pth"
    save_weights(lite, path, meta={"note": "test"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lite.pth"]  # no temp file left behind
    loaded = load_model(path)
    assert loaded.config == lite.config and not loaded.training
    _assert_same(_outputs(lite), _outputs(loaded))
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "xmem-weights-v1" and raw["meta"] == {"note": "test"}


def test_fp16_file_loads_as_fp32(lite: XMem, tmp_path: Path) -> None:
    path = tmp_path / "half.pth"
    save_weights(lite, path, half=True)
    assert torch.load(path, weights_only=True)["state_dict"]["decoder.pred.weight"].dtype == torch.float16
    loaded = load_model(path)
    w = loaded.decoder.pred.weight
    assert w.dtype == torch.float32 and torch.equal(w, lite.decoder.pred.weight.half().float())


def test_plain_state_dict_file(paper: XMem, tmp_path: Path) -> None:
    """Released XMem.pth layout: a plain state dict, config inferred from shapes."""
    path = tmp_path / "XMem.pth"
    torch.save(paper.state_dict(), path)
    loaded = load_model(path)
    assert loaded.config == ModelConfig.xmem()
    _assert_same(_outputs(paper), _outputs(loaded))


def test_training_checkpoint_without_num_batches_tracked(lite: XMem) -> None:
    state = {k: v for k, v in lite.state_dict().items() if not k.endswith("num_batches_tracked")}
    net = XMem(ModelConfig.xmem_lite())
    load_weights(net, {"it": 5, "network": state, "optimizer": {}})
    assert torch.equal(net.decoder.pred.weight, lite.decoder.pred.weight)


def test_single_object_conversion(paper: XMem) -> None:
    state = dict(paper.state_dict())
    state["value_encoder.conv1.weight"] = state["value_encoder.conv1.weight"][:, :4].clone()
    assert infer_config(state) == ModelConfig.xmem()
    net = XMem(ModelConfig.xmem())
    load_weights(net, state)
    w = net.value_encoder.conv1.weight
    assert w.shape == (64, 5, 7, 7) and torch.all(w[:, 4] == 0)
    assert torch.equal(w[:, :4], state["value_encoder.conv1.weight"])


def test_missing_unexpected_mismatched_keys(lite: XMem) -> None:
    state = dict(lite.state_dict())
    del state["decoder.pred.bias"]
    state["decoder.bogus.weight"] = torch.zeros(1)
    state["key_proj.key_proj.bias"] = torch.zeros(3)
    with pytest.raises(CheckpointError) as info:
        load_weights(XMem(ModelConfig.xmem_lite()), state)
    msg = str(info.value)
    assert "decoder.pred.bias" in msg and "decoder.bogus.weight" in msg and "key_proj.key_proj.bias" in msg
    assert info.value.missing == ["decoder.pred.bias"] and info.value.unexpected == ["decoder.bogus.weight"]
    assert isinstance(info.value, ValueError)


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_model(path)


def test_infer_config_round_trip(paper: XMem, lite: XMem) -> None:
    assert infer_config(paper.state_dict()) == ModelConfig.xmem()
    assert infer_config(lite.state_dict()) == ModelConfig.xmem_lite()
    custom = ModelConfig.xmem_lite().with_(key_backbone="efficientnet-lite1", value_backbone="efficientnet-lite2",
                                           key_dim=32, value_dim=128, hidden_dim=0, decoder_dims=(128, 64, 32))
    assert infer_config(XMem(custom).state_dict()) == custom.with_(name="custom")


def test_single_object_file_loads_as_multi_object(tmp_path: Path) -> None:
    single = XMem(ModelConfig.xmem_lite().with_(single_object=True))
    save_weights(single, tmp_path / "s0.pth")
    net = load_model(tmp_path / "s0.pth")
    assert not net.config.single_object and net.value_encoder._conv_stem.weight.shape[1] == 5
    assert torch.all(net.value_encoder._conv_stem.weight[:, 4] == 0)
