"""The paper config's state dict equals the normative key lists (spec §3.1), name for name and shape for shape."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from xmem_core.config import ModelConfig
from xmem_core.model.network import XMem

torch.set_num_threads(1)
KEY_DIRS = [Path(__file__).parent / "data", Path(os.environ.get("XMEM_SPEC_DIR", "/work/shared/design"))]


def _key_file(name: str) -> Path:
    for d in KEY_DIRS:
        if (d / name).is_file():
            return d / name
    pytest.skip(f"{name} not found in {KEY_DIRS}")


def _parse(path: Path) -> list[tuple[str, tuple[int, ...], str]]:
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, shape, dtype = line.split("\t")
        dims = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
        rows.append((name, dims, dtype))
    return rows


def _actual(net: torch.nn.Module) -> list[tuple[str, tuple[int, ...], str]]:
    return [(k, tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in net.state_dict().items()]


@pytest.fixture(scope="module")
def paper_net() -> XMem:
    return XMem(ModelConfig.xmem())


def test_paper_state_dict_matches_key_list(paper_net: XMem) -> None:
    assert _actual(paper_net) == _parse(_key_file("xmem_state_dict_keys.txt"))


def test_paper_parameter_count(paper_net: XMem) -> None:
    counts = {name: sum(p.numel() for p in getattr(paper_net, name).parameters())
              for name in ("key_encoder", "value_encoder", "key_proj", "decoder")}
    assert counts == {"key_encoder": 8_543_296, "value_encoder": 22_694_915, "key_proj": 1_188_993,
                      "decoder": 29_758_020}
    assert sum(p.numel() for p in paper_net.parameters()) == 62_185_224


@pytest.mark.parametrize(("changes", "file"), [
    ({"hidden_dim": 0}, "xmem_state_dict_keys_no_sensory.txt"),
    ({"single_object": True}, "xmem_state_dict_keys_single_object.txt"),
])
def test_variant_state_dicts(changes: dict, file: str) -> None:
    expected = _parse(_key_file(file))
    net = XMem(ModelConfig.xmem().with_(**changes))
    assert _actual(net) == expected
