"""`--time-budget`: fit a run's schedule to a wall-clock budget, and stop in time whatever happens.

`TimeBudget` holds the deadline of the whole invocation and how long saving takes. At the start of each stage it
grants the stage a share of the time left (by the stage's planned work), and a `StagePacer` then:
  * measures seconds per iteration after the first `skip` iterations (cuDNN autotuning, compilation, the loader
    filling its queue) over `probe` iterations (or a tenth of the stage's share, if that comes first), and asks
    for a plan: the stage's iteration count becomes what fits
    before its share ends, less the time to save; `StageConfig.rescale_total` moves the LR drops, LR warm-up,
    bootstrapped-CE warm-up, skip curriculum and fine-tune with it;
  * re-checks every `probe` iterations and asks for a smaller plan when the recent pace would overrun the share;
  * asks for a cut when the next iteration would leave less than the saving time before the deadline: the trainer
    then writes a checkpoint and the final weights at once (a slow-down, a long evaluation, a shared machine).
All times come from `clock` (monotonic seconds), so the logic is tested with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum

from training.config import StageConfig

Clock = Callable[[], float]


def stage_work(stage: StageConfig, done: int = 0) -> float:
    """Relative cost of the rest of a stage: iterations × batch × frames × pixels (the network is convolutional)."""
    left = max(stage.total_iterations - done, 0)
    return left * stage.batch_size * stage.num_frames * stage.size**2


class Action(Enum):
    GO = "go"  # keep going
    PLAN = "plan"  # refit the iteration count (`StagePacer.fit`)
    CUT = "cut"  # save and stop now


class TimeBudget:
    """The deadline of one invocation (`minutes` from construction) and the time kept back for saving."""

    def __init__(self, minutes: float, clock: Clock = time.monotonic, save_s: float = 0.0,
                 start: float | None = None) -> None:
        if minutes <= 0:
            raise ValueError(f"time budget must be positive, not {minutes}")
        self.clock = clock
        self.start = clock() if start is None else start  # e.g. when the command started
        self.deadline = self.start + minutes * 60
        self.total_s = minutes * 60
        # time to write a checkpoint + weights (+ fp16 weights); raised to what saving really takes
        self.save_s = save_s or min(30.0, max(5.0, 0.02 * self.total_s))
        self.eval_s: float | None = None  # last evaluation's duration (unknown until one ran)

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def note_save(self, seconds: float) -> None:
        """A save (checkpoint and weights files of a stage end) took `seconds`: keep at least 1.5× that back."""
        self.save_s = max(self.save_s, 1.5 * seconds)

    def note_eval(self, seconds: float) -> None:
        self.eval_s = seconds

    def eval_reserve(self) -> float:
        """Time to keep for an evaluation: 1.2× the last one's duration (a tenth of the budget before any)."""
        return 1.2 * (self.eval_s if self.eval_s is not None else 0.1 * self.total_s)

    def allows_eval(self) -> bool:
        """An evaluation fits in the time left (it cannot be interrupted)."""
        return self.remaining() >= self.eval_reserve()

    def stage_end(self, stages: list[StageConfig], si: int, done: int = 0) -> float:
        """Clock time by which stage `si` (at iteration `done`) should end: its share of the time left by work,
        each later stage keeping back its own save time."""
        work = [stage_work(st, done if i == si else 0) for i, st in enumerate(stages) if i >= si]
        later_saves = self.save_s * (len(work) - 1)
        left = max(self.remaining() - later_saves, 0.0)
        share = left * work[0] / sum(work) if sum(work) > 0 else left
        return self.clock() + share


class StagePacer:
    """Paces one stage inside its share of a `TimeBudget` (see the module docstring)."""

    def __init__(self, budget: TimeBudget, end: float, start_it: int, skip: int = 3, probe: int = 10,
                 probe_share: float = 0.1, eval_after: bool = False) -> None:
        self.budget, self.end = budget, end
        self.eval_after = eval_after  # the stage ends with an evaluation: keep time for it in the plan
        self.probe_s = probe_share * max(end - budget.clock(), 0.0)  # or probe for this long (short stages)
        self.skip, self.probe = skip, probe
        self.start_it = start_it
        self.t0: float | None = None  # clock at the end of the skipped iterations
        self.it0 = start_it
        self.planned = False
        self.last: tuple[int, float] = (start_it, budget.clock())  # (iteration, clock) of the previous check
        self.step_s = 0.0  # slowest recent iteration (for the cut)
        self.prev_t = budget.clock()

    def rate(self, done: int) -> float | None:
        """Seconds per iteration: the mean since the skipped ones, or the recent mean if that is slower."""
        if self.t0 is None or done <= self.it0:
            return None
        now = self.budget.clock()
        mean = (now - self.t0) / (done - self.it0)
        it_l, t_l = self.last
        recent = (now - t_l) / (done - it_l) if done > it_l and it_l >= self.it0 else 0.0
        return max(mean, recent)

    def kept(self) -> float:
        """Seconds of the stage's share kept back from training: the save, and the stage-end evaluation if any."""
        return self.budget.save_s + (self.budget.eval_reserve() if self.eval_after else 0.0)

    def fit(self, done: int) -> int:
        """Total iterations of the stage that end by its share, less the time kept back (`kept`) and the cut's
        margin of 1.5 iterations (at least `done`)."""
        rate = self.rate(done)
        if rate is None:
            return done
        left = self.end - self.kept() - 1.5 * rate - self.budget.clock()  # the cut's margin, kept clear
        self.last = (done, self.budget.clock())
        self.planned = True
        return done + max(int(left / rate), 0)

    def after(self, done: int, total: int) -> Action:
        """Call after each iteration (`done` iterations finished, `total` planned)."""
        now = self.budget.clock()
        self.step_s = max(now - self.prev_t, 0.8 * self.step_s)
        self.prev_t = now
        if self.budget.deadline - now < self.budget.save_s + 1.5 * self.step_s and done < total:
            return Action.CUT
        ran = done - self.start_it
        if ran == self.skip:
            self.t0, self.it0 = now, done
            self.last = (done, now)
        if self.t0 is None or done == self.it0:
            return Action.GO
        probed = done - self.it0 >= self.probe or (done - self.it0 >= 2 and now - self.t0 >= self.probe_s)
        if not self.planned:
            return Action.PLAN if probed else Action.GO
        it_l, _ = self.last
        if done - it_l >= self.probe:
            rate = self.rate(done) or 0.0
            if now + (total - done) * rate + self.kept() > self.end + max(5.0, 0.02 * self.budget.total_s):
                return Action.PLAN
            self.last = (done, now)
        return Action.GO
