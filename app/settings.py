"""Engine settings the user edits in the memory panel (saved in the project file)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from xmem_core.config import MemoryConfig


@dataclass
class EngineSettings:
    """Memory hyper-parameters (paper symbols), processing size, device and weights file."""

    r: int = 5
    T_min: int = 5
    T_max: int = 10
    LT_max: int = 10000
    P: int = 128
    top_k: int = 30
    size: int = 480  # processing resolution (short side); -1 keeps the source size
    device: str = "cpu"
    weights: str | None = None  # None: shipped default (newest *.pth in resources/weights)
    overwrite_keyframes: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def memory_config(self) -> MemoryConfig:
        """The engine's MemoryConfig (raises ValueError with a readable message if inconsistent)."""
        return MemoryConfig(r=self.r, T_min=self.T_min, T_max=self.T_max, P=self.P, LT_max=self.LT_max,
                            top_k=self.top_k)

    def engine_key(self) -> tuple[Any, ...]:
        """Settings whose change requires a new engine session."""
        return (self.r, self.T_min, self.T_max, self.LT_max, self.P, self.top_k, self.size, self.device,
                self.weights)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EngineSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in known})
