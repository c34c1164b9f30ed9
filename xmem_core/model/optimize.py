"""Inference-only preparation of a network: BatchNorm folding, conv+ReLU6 fusion, channels-last layout, bf16 weights
(all of them; for the 'mixed' precision those of the decoder and of the value encoder's fusion block and cell), and
Winograd for the wide bf16 3×3 convolutions on the CPU.

The result is a modified deep copy; the original (and its state dict layout) is untouched. With bf16
the caller runs the network under `torch.autocast(bf16)` so that mixed-dtype arithmetic (sensory
memory, probabilities) stays correct; the weights are already bf16, so autocast casts nothing.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from xmem_core.model import winograd
from xmem_core.model.backbones.efficientnet_lite import EfficientNetLiteTrunk, MBConvBlock
from xmem_core.model.modules import GConv2D
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


class ConvReLU6(nn.Conv2d):
    """A Conv2d followed by ReLU6 in one oneDNN kernel on the CPU (the activation is a post-op of the convolution,
    so the feature map is written once instead of written, re-read and re-written) in bf16; conv then in-place
    clamp otherwise. The input is cast to the weight's dtype, as autocast would (the private op is not autocast-aware).

    forward(x: B×Cin×H×W) -> B×Cout×H'×W', = relu6(conv(x)) exactly.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x = x.to(self.weight.dtype)
        if _fused_available(x, self.weight):
            return torch.ops.mkldnn._convolution_pointwise(
                x, self.weight, self.bias, list(self.padding), list(self.stride), list(self.dilation), self.groups,
                "hardtanh", [0.0, 6.0], "")
        return super().forward(x).clamp_(0.0, 6.0)


def _fused_available(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """The fused kernel is used for bf16 on the CPU only: in fp32 it measured no faster than conv + clamp here."""
    return (x.device.type == "cpu" and x.dtype == torch.bfloat16 and not torch.is_grad_enabled()
            and torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
            and _is_channels_last(x) == _is_channels_last(weight))


def _is_channels_last(t: torch.Tensor) -> bool:
    """Laid out so that channels-last strides fit (also true for tensors contiguous both ways, such as depthwise
    weights with one input channel; `modules._is_channels_last` excludes those and would turn fusion off for them)."""
    return t.is_contiguous(memory_format=torch.channels_last)


def fuse_relu6(net: nn.Module) -> int:
    """Fuse every folded conv→ReLU6 of the EfficientNet-Lite trunks (stem, expand, depthwise). Returns the count.

    Call after `fold_batchnorm`: a conv is fused only when the BatchNorm between it and the ReLU6 is folded; the
    activation module becomes an identity.
    """
    fused = 0
    for module in list(net.modules()):
        if isinstance(module, MBConvBlock):
            convs = [getattr(module, "_expand_conv", None), module._depthwise_conv]
            bns = [getattr(module, "_bn0", None), module._bn1]
            act_name = "act"
        elif isinstance(module, EfficientNetLiteTrunk):
            convs, bns, act_name = [module._conv_stem], [module._bn0], "_stem_act"
        else:
            continue
        pairs = [(c, b) for c, b in zip(convs, bns, strict=True) if c is not None]
        if not all(isinstance(b, FoldedBatchNorm) and type(c) is nn.Conv2d for c, b in pairs):
            continue
        for conv, _ in pairs:
            conv.__class__ = ConvReLU6
            fused += 1
        setattr(module, act_name, nn.Identity())
    return fused


class WinogradConv2d(winograd.WinogradMixin, nn.Conv2d):
    """nn.Conv2d computed by Winograd F(2×2, 3×3) where `winograd.worth_it` (wide bf16 convolutions on the CPU)."""


class WinogradGConv2D(winograd.WinogradMixin, GConv2D):
    """GConv2D (shared-input split included) computed by Winograd F(2×2, 3×3) where `winograd.worth_it`."""


_WINOGRAD_CLASSES = {nn.Conv2d: WinogradConv2d, GConv2D: WinogradGConv2D}


def use_winograd(net: nn.Module) -> int:
    """Let every plain 3×3 stride-1 convolution of `net` take the Winograd path (decided per call by
    `winograd.worth_it`: bf16 weights, CPU, wide enough). Classes are swapped in place; weights and state-dict
    names are unchanged. Transformed filters (16/9 of a weight's memory) are computed at a convolution's first
    Winograd call. Returns the number of convolutions swapped."""
    swapped = 0
    for module in net.modules():
        cls = _WINOGRAD_CLASSES.get(type(module))
        if cls is not None and winograd.applicable(module):
            module.__class__ = cls
            swapped += 1
    return swapped


class Autocast(nn.Module):
    """Runs `module` (weights already in `dtype`) under autocast(dtype), inside a stage that otherwise runs in fp32:
    the 'mixed' value encoder's fusion block and deep-update cell, whose trunk stays fp32.

    forward(*args, **kwargs) = module(*args, **kwargs), floating-point arguments cast as autocast casts them.
    """

    def __init__(self, module: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.module = module
        self.dtype = dtype

    def forward(self, *args, **kwargs):  # the wrapped module's signature
        device = next(self.module.parameters()).device.type
        with torch.autocast(device_type=device, dtype=self.dtype):
            return self.module(*args, **kwargs)


def _mixed(net: XMem, dtype: torch.dtype) -> None:
    """'mixed' in place: bf16 decoder (the core runs that stage under autocast), and bf16 value fusion and
    deep-update cell (wrapped in `Autocast`, since the value trunk around them stays fp32). What stays fp32 (key
    encoder, key projection, value trunk) is what makes masks drift when rounded (README, Performance)."""
    net.decoder.to(dtype)  # Module.to converts in place
    encoder = net.value_encoder
    encoder.fuser = Autocast(encoder.fuser.to(dtype), dtype)
    if encoder.hidden_reinforce is not None:
        encoder.hidden_reinforce = Autocast(encoder.hidden_reinforce.to(dtype), dtype)


def prepare_for_inference(net: XMem, precision: str = "fp32", channels_last: bool = True,
                          inplace: bool = False) -> XMem:
    """`net` ready for inference: eval mode, folded BN, fused conv+ReLU6, channels-last, and low-precision weights:
    all bf16/fp16 for precision 'bf16'/'fp16'; for 'mixed' those of the decoder and of the value encoder's fusion
    (see `_mixed`), with Winograd for the wide bf16 3×3 convolutions (`use_winograd`). Run the decoder (and, but
    for 'mixed', the encoders) under the matching autocast. A deep copy unless `inplace` (saves one model's
    memory; the caller's network is then modified and must not be trained or saved afterwards; for 'mixed' its
    state-dict names change too)."""
    fast = (net if inplace else copy.deepcopy(net)).eval()
    fold_batchnorm(fast)
    fuse_relu6(fast)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "mixed": torch.bfloat16}.get(precision)
    if precision == "mixed":
        _mixed(fast, dtype)
    elif dtype is not None:
        fast.to(dtype)  # Module.to converts in place
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    if dtype == torch.bfloat16:
        use_winograd(fast)  # bf16 only: fp32 stays the exact path
    for p in fast.parameters():
        p.requires_grad_(False)
    return fast
