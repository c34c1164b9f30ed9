"""Deterministic sample keys, the max-skip curriculum and an iteration-indexed sampler.

Every random choice a dataset makes is drawn from a generator seeded by the `SampleKey` it receives, and the
key of item j of iteration i is a pure function of (seed, stage, i, rank, j). So a run resumed at iteration i
sees exactly the batches an uninterrupted run would, whatever the number of workers, and a curriculum switch
needs no loader rebuild (the max skip travels inside the key).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from torch.utils.data import Sampler


@dataclass(frozen=True)
class SampleKey:
    """What a dataset needs to build one sample: which item, its RNG seed, and the curriculum state."""

    index: int
    seed: int
    max_skip: int = 5
    finetune: bool = False


def as_key(item: SampleKey | int) -> SampleKey:
    """Plain integer indices (e.g. `dataset[3]`) get a seed derived from the index."""
    return item if isinstance(item, SampleKey) else SampleKey(int(item), int(item))


@dataclass(frozen=True)
class SkipCurriculum:
    """Max skip as a function of the iteration (spec §7.4): values[k] after the k-th milestone (fractions).

    Iterations >= `iterations` are the fine-tune phase, which keeps the last value.
    """

    iterations: int
    values: tuple[int, ...] = (5, 10, 15, 5)
    milestones: tuple[float, ...] = (0.1, 0.3, 0.9)

    def __post_init__(self) -> None:
        if len(self.values) != len(self.milestones) + 1:
            raise ValueError("skip curriculum needs exactly one more value than milestones")

    def at(self, it: int) -> tuple[int, bool]:
        """(max_skip, finetune) at iteration `it`."""
        if it >= self.iterations:
            return self.values[-1], True
        k = sum(it >= m * self.iterations for m in self.milestones)
        return self.values[k], False


def sample_seed(*parts: int) -> int:
    """A 32-bit seed mixed from integers (stable across processes and platforms)."""
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(1)[0])


class IterationSampler(Sampler[SampleKey]):
    """Yields `batch_size` keys per iteration for iterations [start, end), sharded across `world` ranks.

    Items are drawn epoch by epoch from seeded permutations of the dataset (no replacement within an epoch).
    Use with `DataLoader(batch_size=batch_size, drop_last=True)`.
    """

    def __init__(
        self,
        length: int,
        batch_size: int,
        seed: int,
        start: int,
        end: int,
        curriculum: SkipCurriculum | None = None,
        stage: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        if length <= 0:
            raise ValueError("dataset is empty")
        self.length, self.batch_size, self.seed = length, batch_size, seed
        self.start, self.end, self.curriculum = start, end, curriculum
        self.stage, self.rank, self.world = stage, rank, world
        self._perm: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return max(self.end - self.start, 0) * self.batch_size

    def _index(self, pos: int) -> int:
        epoch, offset = divmod(pos, self.length)
        if self._perm is None or self._perm[0] != epoch:
            rng = np.random.default_rng(sample_seed(self.seed, self.stage, epoch, 0x5EED))
            self._perm = (epoch, rng.permutation(self.length))
        return int(self._perm[1][offset])

    def keys(self, it: int) -> list[SampleKey]:
        """The keys of iteration `it` for this rank."""
        skip, ft = self.curriculum.at(it) if self.curriculum else (5, False)
        out = []
        for j in range(self.batch_size):
            pos = (it * self.world + self.rank) * self.batch_size + j
            out.append(SampleKey(self._index(pos), sample_seed(self.seed, self.stage, it, self.rank, j), skip, ft))
        return out

    def __iter__(self) -> Iterator[SampleKey]:
        it = self.start
        while it < self.end:  # `end` and `curriculum` are read as it goes (a time-budget re-plan changes them)
            yield from self.keys(it)
            it += 1
