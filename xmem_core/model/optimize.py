"""Inference-only preparation of a network: BatchNorm folding, channels-last layout, bf16 weights.

The result is a modified deep copy; the original (and its state dict layout) is untouched. With bf16
the caller runs the network under `torch.autocast(bf16)` so that mixed-dtype arithmetic (sensory
memory, probabilities) stays correct; the weights are already bf16, so autocast casts nothing.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from xmem_core.model.network import XMem

# (conv attribute, batch-norm attribute) pairs used by the ResNet and EfficientNet-Lite trunks
_PAIRS = (
    ("conv1", "bn1"),
    ("conv2", "bn2"),
    ("conv3", "bn3"),
    ("_conv_stem", "_bn0"),
    ("_expand_conv", "_bn0"),
    ("_depthwise_conv", "_bn1"),
    ("_project_conv", "_bn2"),
)


class FoldedBatchNorm(nn.BatchNorm2d):
    """A BatchNorm2d whose affine transform has been folded into the preceding convolution."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold eval-mode `bn` into `conv` in place: y = γ (Wx + b − μ)/σ + β; `bn` becomes an identity.

    The module objects are mutated rather than replaced, so every reference to them (shared trunks) sees it.
    """
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # C
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    with torch.no_grad():
        conv.weight.mul_(scale.view(-1, 1, 1, 1))
        new_bias = (bias - bn.running_mean) * scale + bn.bias
        if conv.bias is None:
            conv.bias = nn.Parameter(new_bias.detach().clone())
        else:
            conv.bias.copy_(new_bias)
    bn.__class__ = FoldedBatchNorm


def fold_batchnorm(net: nn.Module) -> int:
    """Fold every conv→BN pair of the trunks (and 1×1 downsample Sequentials). Returns the number folded."""
    folded = 0
    for module in list(net.modules()):
        for conv_name, bn_name in _PAIRS:
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if _foldable(conv, bn):
                fold_conv_bn(conv, bn)
                folded += 1
        if isinstance(module, nn.Sequential) and len(module) == 2 and _foldable(module[0], module[1]):
            fold_conv_bn(module[0], module[1])
            folded += 1
    return folded


def _foldable(conv: object, bn: object) -> bool:
    return (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
            and not isinstance(bn, FoldedBatchNorm) and bn.track_running_stats)


def prepare_for_inference(net: XMem, precision: str = "fp32", channels_last: bool = True,
                          inplace: bool = False) -> XMem:
    """`net` ready for inference: eval mode, folded BN, channels-last, and bf16/fp16 weights for precision
    'bf16'/'fp16' (run it under the matching autocast). A deep copy unless `inplace` (saves one model's memory;
    the caller's network is then modified and must not be trained or saved afterwards)."""
    fast = (net if inplace else copy.deepcopy(net)).eval()
    fold_batchnorm(fast)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    if dtype is not None:
        fast = fast.to(dtype)
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    for p in fast.parameters():
        p.requires_grad_(False)
    return fast
