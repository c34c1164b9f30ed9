"""Configuration dataclasses: network shape (`ModelConfig`) and the paper's memory symbols (`MemoryConfig`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

KEY_BACKBONES = ("resnet50", "efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
VALUE_BACKBONES = ("resnet18", "efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network. `xmem()` is the paper's model, `xmem_lite()` the CPU-sized one we ship."""

    name: str = "xmem"  # human-readable configuration name ("xmem" or "xmem-lite")
    key_backbone: str = "resnet50"  # query/key encoder backbone (f16, f8, f4 taps)
    value_backbone: str = "resnet18"  # value encoder backbone (5-channel input)
    key_dim: int = 64  # C^k: key channels
    value_dim: int = 512  # C^v: value channels
    hidden_dim: int = 64  # C^h: sensory memory channels (0 disables sensory memory)
    decoder_dims: tuple[int, int, int] = (512, 256, 256)  # widths of g16, g8, g4 in the decoder
    single_object: bool = False  # stage-0 network: value encoder without the "others" channel

    def __post_init__(self) -> None:
        if self.key_backbone not in KEY_BACKBONES:
            raise ValueError(f"unknown key backbone {self.key_backbone!r}; choose from {KEY_BACKBONES}")
        if self.value_backbone not in VALUE_BACKBONES:
            raise ValueError(f"unknown value backbone {self.value_backbone!r}; choose from {VALUE_BACKBONES}")
        object.__setattr__(self, "decoder_dims", tuple(int(d) for d in self.decoder_dims))

    @classmethod
    def xmem(cls) -> "ModelConfig":
        """The paper's configuration; loads the released XMem.pth unchanged."""
        return cls()

    @classmethod
    def xmem_lite(cls) -> "ModelConfig":
        """EfficientNet-Lite configuration sized for CPU users (see README, 'Choosing xmem-lite')."""
        return cls(
            name="xmem-lite",
            key_backbone="efficientnet-lite2",
            value_backbone="efficientnet-lite0",
            key_dim=64,
            value_dim=256,
            hidden_dim=64,
            decoder_dims=(256, 128, 64),
        )

    @classmethod
    def by_name(cls, name: str) -> "ModelConfig":
        presets = {"xmem": cls.xmem, "xmem-lite": cls.xmem_lite}
        if name not in presets:
            raise ValueError(f"unknown model configuration {name!r}; choose from {sorted(presets)}")
        return presets[name]()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["decoder_dims"] = list(self.decoder_dims)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    def with_(self, **changes: Any) -> "ModelConfig":
        return replace(self, **changes)


@dataclass
class MemoryConfig:
    """Inference-time memory hyper-parameters, named after the paper's symbols (defaults: spec §5.11)."""

    r: int = 5  # mem_every: a working-memory frame is inserted every r frames
    T_min: int = 5  # working memory keeps T_min frames after consolidation (first frame included)
    T_max: int = 10  # consolidation triggers when working memory reaches T_max frames
    P: int = 128  # number of prototypes made per consolidation
    LT_max: int = 10000  # long-term memory capacity in elements; LFU eviction keeps it below
    top_k: int = 30  # k of the top-k softmax in memory reading (clamped to the memory size)
    deep_update_every: int = -1  # -1: deep update synchronised with memory frames
    long_term: bool = True  # enable long-term memory (consolidation + eviction)
    count_usage: bool = True  # count long-term usage (needed for LFU eviction)
    extra: dict[str, Any] = field(default_factory=dict)  # forward-compatible, ignored by the engine

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError with a readable message for inconsistent settings."""
        if self.r < 1:
            raise ValueError("r (mem_every) must be at least 1")
        if self.T_min < 1 or self.T_max <= self.T_min:
            raise ValueError("need 1 <= T_min < T_max")
        if self.P < 1:
            raise ValueError("P (prototypes) must be at least 1")
        if self.LT_max < 2 * self.P:
            raise ValueError("LT_max must be at least 2*P")
        if self.top_k < 1:
            raise ValueError("top_k must be at least 1")
