"""Training and every weights loader under hostile or damaged files: nothing is unpickled beyond tensors and plain
values, so a `__reduce__` payload never runs; errors are one line; RNG states survive the tensor-only format."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from training import train
from training.checkpoint import FORMAT, load_checkpoint, rng_state, set_rng_state
from xmem_core.config import ModelConfig
from xmem_core.model.backbones.efficientnet_lite import load_lite_imagenet
from xmem_core.model.backbones.resnet import load_torchvision_resnet
from xmem_core.model.checkpoint import CheckpointError, load_model, load_weights, read_file
from xmem_core.model.network import XMem


class Payload:
    """Unpickling this calls os.system, which would create `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _evil(tmp_path: Path) -> tuple[Path, Path]:
    """A torch.save file that looks like a checkpoint but carries a payload in its RNG state."""
    marker, path = tmp_path / "PWNED", tmp_path / "evil.pth"
    torch.save({"format": FORMAT, "stage": 0, "it": 0, "config": {}, "network": {"w": torch.zeros(1)},
                "rng": {"python": Payload(marker)}}, path)
    return path, marker


def _tiny_net() -> XMem:
    return XMem(ModelConfig.xmem_lite().with_(key_backbone="efficientnet-lite0", key_dim=8, value_dim=16,
                                              hidden_dim=4, decoder_dims=(16, 8, 8)))


LOADERS: dict[str, Callable[[Path], object]] = {
    "read_file": read_file,
    "load_model (CLI --model, app weights)": load_model,
    "load_weights (training init_weights)": lambda p: load_weights(_tiny_net(), p),
    "load_checkpoint (training --resume)": load_checkpoint,
    "load_torchvision_resnet (ImageNet ResNet)": lambda p: load_torchvision_resnet(torch.nn.Module(), p),
    "load_lite_imagenet (ImageNet EfficientNet-Lite)":
        lambda p: load_lite_imagenet(torch.nn.Module(), "lite0", source=p),
}


@pytest.mark.parametrize("loader", list(LOADERS), ids=list(LOADERS))
def test_reduce_payload_never_runs(loader: str, tmp_path: Path) -> None:
    path, marker = _evil(tmp_path)
    with pytest.raises(CheckpointError, match="holds Python objects other than tensors") as info:
        LOADERS[loader](path)
    assert not marker.exists(), "the pickle payload ran"
    assert "weights_only=False" not in str(info.value) and "\n" not in str(info.value).splitlines()[0]


@pytest.mark.parametrize("with_preset", [False, True], ids=["config-from-checkpoint", "preset"])
def test_resume_evil_checkpoint_is_one_line(with_preset: bool, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path, marker = _evil(tmp_path)
    argv = ["--resume", str(path), "--out", str(tmp_path / "run"), "--device", "cpu", "--no-progress"]
    code = train.main(argv + (["--preset", "cpu-lite"] if with_preset else []))
    err = capsys.readouterr().err
    assert code == 2 and not marker.exists()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Python objects other than tensors" in lines[0]
    assert "weights_only" not in err


def test_resume_text_file_says_what_it_is(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "last.pth"
    path.write_text("<html>404</html>")
    assert train.main(["--resume", str(path), "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {path} is not a PyTorch training checkpoint: it is a text "
                                               "file (HTML, JSON or XML; a failed download?)")


def test_rng_state_round_trips_through_a_weights_only_file(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    torch.save({"format": FORMAT, "rng": rng_state()}, tmp_path / "c.pth")
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    set_rng_state(load_checkpoint(tmp_path / "c.pth")["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_checkpoint_from_before_the_tensor_format_still_resumes(tmp_path: Path) -> None:
    np.random.seed(5)
    legacy = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    torch.save({"format": FORMAT, "rng": legacy}, tmp_path / "old.pth")  # numpy's state as an ndarray
    expected = np.random.rand()
    np.random.seed(0)
    set_rng_state(load_checkpoint(tmp_path / "old.pth")["rng"])
    assert np.random.rand() == expected
