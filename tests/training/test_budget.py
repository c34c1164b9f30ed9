"""`--time-budget`: schedule rescaling, the pacer's plan / re-plan / cut with a fake clock, and the trainer under it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.training.test_trainer import _config, _main_stage
from training.budget import Action, StagePacer, TimeBudget
from training.config import DataSource, StageConfig, TrainConfig, from_dict
from training.presets import SHARED_DATA
from training.step import TrainStep
from training.train import main
from training.trainer import Trainer


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _video_stage(**kw: object) -> StageConfig:
    base = dict(iterations=600, finetune_iterations=60, lr_steps=[480], warmup_iterations=20, start_warm=120,
                end_warm=420, data=[DataSource("x", kind="davis")])
    base.update(kw)
    return StageConfig(**base)  # type: ignore[arg-type]


def test_rescale_total_moves_the_whole_schedule() -> None:
    st = _video_stage()
    st.rescale_total(110)
    assert (st.iterations, st.finetune_iterations, st.lr_steps, st.warmup_iterations, st.start_warm,
            st.end_warm) == (100, 10, [80], 3, 20, 70)
    assert st.total_iterations == 110
    static = StageConfig(iterations=300, finetune_iterations=0, lr_steps=[200], data=[DataSource("x")])
    static.rescale_total(150)  # a static stage has no fine-tune phase
    assert (static.iterations, static.lr_steps, static.total_iterations) == (150, [100], 150)


def test_stage_shares_follow_the_work() -> None:
    clock = FakeClock()
    budget = TimeBudget(10, clock, save_s=10)
    cheap = StageConfig(iterations=100, batch_size=4, num_frames=3, size=192, data=[DataSource("x")])
    dear = _video_stage(iterations=100, finetune_iterations=0, batch_size=4, num_frames=6, size=192)
    end = budget.stage_end([cheap, dear], 0)
    assert end - clock.t == pytest.approx((600 - 10) / 3)  # half the frames per sample: a third of the time
    assert budget.stage_end([cheap, dear], 1) - clock.t == pytest.approx(600)  # the last stage gets what is left


def _iterate(pacer: StagePacer, clock: FakeClock, done: int, total: int, seconds: float) -> Action:
    clock.t += seconds
    return pacer.after(done, total)


def test_pacer_plans_after_the_probe_and_fits_the_share() -> None:
    clock = FakeClock()
    budget = TimeBudget(10, clock, save_s=10)
    pacer = StagePacer(budget, budget.stage_end([_video_stage()], 0), 0, skip=3, probe=10)
    actions = [_iterate(pacer, clock, i, 660, 5.0 if i <= 3 else 1.0) for i in range(1, 14)]
    assert actions[:-1] == [Action.GO] * 12 and actions[-1] is Action.PLAN  # 3 skipped (slow) + 10 measured
    total = pacer.fit(13)
    # 600 s - 25 s so far - 10 s to save - 1.5 iterations of margin, at 1 s per iteration after the first three
    assert total == 13 + 563
    st = _video_stage()
    st.rescale_total(total)
    assert st.total_iterations == total and st.lr_steps == [round(480 * st.iterations / 600)]


def test_pacer_replans_on_a_slowdown_and_cuts_before_the_deadline() -> None:
    clock = FakeClock()
    budget = TimeBudget(10, clock, save_s=10)
    pacer = StagePacer(budget, budget.stage_end([_video_stage()], 0), 0, skip=3, probe=10)
    for i in range(1, 14):
        _iterate(pacer, clock, i, 660, 1.0)
    total = pacer.fit(13)
    done, replans = 13, 0
    while True:  # the machine gets 3× slower
        done += 1
        action = _iterate(pacer, clock, done, total, 3.0)
        if action is Action.PLAN:
            replans += 1
            total = pacer.fit(done)
        if action is Action.CUT or done >= total:
            break
    assert replans >= 1 and done >= total  # shrank in time: the stage ends by its own plan, not by the cut
    assert budget.remaining() >= budget.save_s
    # no re-plan (a stage too short to probe, say) and a 200 s stall: the cut still leaves the saving time
    clock2 = FakeClock()
    b2 = TimeBudget(10, clock2, save_s=10)
    p2 = StagePacer(b2, b2.stage_end([_video_stage()], 0), 0)
    for i in range(1, 10_000):
        if _iterate(p2, clock2, i, 10_000, 200.0 if i == 3 else 1.0) is Action.CUT:
            break
    assert b2.save_s <= b2.remaining() <= b2.save_s + 2.5  # cut as late as the margin allows, not later


def test_eval_only_when_it_fits() -> None:
    clock = FakeClock()
    budget = TimeBudget(10, clock, save_s=10)
    assert budget.allows_eval() and budget.eval_reserve() == pytest.approx(72)  # a tenth (+20 %) before any
    budget.note_eval(100)
    clock.t += 600 - 121
    assert budget.allows_eval()
    clock.t += 2
    assert not budget.allows_eval()  # 119 s left, 120 s needed
    # a stage that ends with an evaluation keeps its time (and the save's) out of the plan
    pacer = StagePacer(budget, clock.t + 100, 0, eval_after=True)
    assert pacer.kept() == pytest.approx(10 + 120)


def _timed_steps(monkeypatch: pytest.MonkeyPatch, clock: FakeClock, seconds: Callable[[int], float]) -> None:
    """Make iteration `it` "take" seconds(it) of the fake clock."""
    real_step = TrainStep.step

    def step(self: TrainStep, batch: dict, it: int) -> dict:
        clock.t += seconds(it)
        return real_step(self, batch, it)

    monkeypatch.setattr(TrainStep, "step", step)


def test_trainer_fits_the_stage_to_the_budget(data_root: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """2 s per iteration in a 1-minute budget: 200 planned iterations become what fits, and the run ends in time."""
    clock = FakeClock()
    _timed_steps(monkeypatch, clock, lambda it: 2.0)
    out = tmp_path / "run"
    trainer = Trainer(_config(data_root, out, [_main_stage(data_root, 200)]), progress=False, time_budget=1.0,
                      clock=clock)
    final = trainer.run()
    assert trainer.finished and final is not None and final.exists()
    stage = trainer.cfg.stages[0]
    assert 20 <= stage.total_iterations <= 28 and clock.t - 1000.0 <= 60.0 - trainer.budget.save_s  # type: ignore
    ckpt = torch.load(out / "checkpoints" / "last.pth", weights_only=False)
    assert ckpt["it"] == stage.total_iterations
    assert ckpt["config"]["stages"][0]["iterations"] == stage.iterations  # the fitted plan is saved
    rows = (out / "train_log.csv").read_text().splitlines()
    assert len(rows) == 1 + stage.total_iterations


def test_trainer_cuts_on_a_slowdown_and_resumes(data_root: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Iterations slow from 2 s to 10 s after the plan: the trainer stops before the deadline with final weights and
    a checkpoint, and a second window finishes the stage from it."""
    clock = FakeClock()
    _timed_steps(monkeypatch, clock, lambda it: 2.0 if it < 20 else 10.0)
    out = tmp_path / "run"
    trainer = Trainer(_config(data_root, out, [_main_stage(data_root, 200)]), progress=False, time_budget=1.0,
                      clock=clock)
    final = trainer.run()
    assert not trainer.finished and final is not None and final.exists()
    assert clock.t - 1000.0 <= 60.0 - trainer.budget.save_s  # type: ignore[union-attr]
    ckpt = torch.load(out / "checkpoints" / "last.pth", weights_only=False)
    total = trainer.cfg.stages[0].total_iterations
    assert 20 < ckpt["it"] < total
    cfg = from_dict(TrainConfig, ckpt["config"])  # as `--resume` reads it
    clock.t = 5000.0
    resumed = Trainer(cfg, resume=out / "checkpoints" / "last.pth", progress=False, time_budget=5.0, clock=clock)
    assert resumed.run() is not None and resumed.finished
    assert torch.load(out / "checkpoints" / "last.pth", weights_only=False)["it"] == total


@pytest.mark.skipif(not Path(SHARED_DATA, "davis16-train").is_dir(), reason="needs ../shared/data")
def test_tiny_preset_end_to_end_within_its_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real clock: `--time-budget 0.4` (24 s) with 40 planned iterations per stage on the tiny preset."""
    t0 = time.monotonic()
    argv = ["--preset", "tiny", "--out", str(tmp_path / "run"), "--iterations", "40", "--time-budget", "0.4",
            "--no-progress"]
    assert main(argv) == 0
    elapsed = time.monotonic() - t0
    assert (tmp_path / "run" / "final.pth").exists()
    assert "[budget]" in capsys.readouterr().out  # the plan (or a cut) was reported
    assert elapsed <= 24 + 3  # the budget, plus leaving the function (the weights were written before 24 s)


def test_trainer_keeps_time_for_the_final_evaluation(data_root: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With evaluation on, the plan keeps time for the stage-end evaluation (which cannot be interrupted)."""
    import training.evaluate

    clock = FakeClock()
    _timed_steps(monkeypatch, clock, lambda it: 2.0)
    real_eval = training.evaluate.evaluate_davis

    def slow_eval(*a: Any, **k: Any) -> Any:
        clock.t += 8.0
        return real_eval(*a, **k)

    monkeypatch.setattr(training.evaluate, "evaluate_davis", slow_eval)
    out = tmp_path / "run"
    cfg = _config(data_root, out, [_main_stage(data_root, 200)], str(data_root / "davis"))
    trainer = Trainer(cfg, progress=False, time_budget=1.0, clock=clock)
    assert trainer.run() is not None and trainer.finished
    assert len((out / "eval_log.csv").read_text().splitlines()) == 2  # header + the stage-end evaluation
    assert clock.t - 1000.0 <= 60.0
    assert torch.load(out / "final.pth", weights_only=True)["meta"]["davis16_dev_JF"] is not None
