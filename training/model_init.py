"""Building the network for a stage: ImageNet init, starting weights, single -> multi-object transfer."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from training.config import StageConfig, TrainConfig
from xmem_core.config import ModelConfig
from xmem_core.model.checkpoint import load_weights
from xmem_core.model.network import XMem
from xmem_core.model.pretrained import init_from_imagenet


def model_config(cfg: TrainConfig, stage: StageConfig) -> ModelConfig:
    """The run's ModelConfig with its overrides and the stage's single-object flag."""
    base = ModelConfig.by_name(cfg.model)
    overrides = dict(cfg.model_overrides)
    if "decoder_dims" in overrides:
        overrides["decoder_dims"] = tuple(overrides["decoder_dims"])
    return base.with_(**overrides, single_object=stage.single_object)


def build_initial(cfg: TrainConfig, stage: StageConfig) -> XMem:
    """Network for the first stage: from `init_weights` if given, else ImageNet backbones (mask channels zero)."""
    net = XMem(model_config(cfg, stage))
    if cfg.init_weights:
        load_weights(net, cfg.init_weights)
    elif cfg.imagenet:
        loaded = init_from_imagenet(net, cfg.resnet50_weights, cfg.resnet18_weights, extra_init="zero")
        if not loaded:
            warnings.warn("no ImageNet weights were loaded (pass --resnet50/--resnet18 for the xmem model); "
                          "the backbones start from random init", stacklevel=2)
    return net


def transfer(prev: nn.Module, cfg: TrainConfig, stage: StageConfig) -> XMem:
    """Network for a later stage, initialised from `prev`; new input channels get `cfg.stage_transfer_init`."""
    net = XMem(model_config(cfg, stage))
    target = net.state_dict()
    state = {}
    for k, v in prev.state_dict().items():
        t = target.get(k)
        if t is not None and v.dim() == 4 and t.dim() == 4 and v.shape[1] < t.shape[1] and v.shape[0] == t.shape[0]:
            extra = torch.zeros(t.shape[0], t.shape[1] - v.shape[1], *t.shape[2:], dtype=v.dtype)
            if cfg.stage_transfer_init == "orthogonal":
                nn.init.orthogonal_(extra)
            v = torch.cat([v, extra], 1)
        state[k] = v
    net.load_state_dict(state, strict=True)
    return net
