"""The stage loop: optimiser, LR schedule, AMP, frozen BN, logging, snapshots, checkpoints and evaluation."""

from __future__ import annotations

import copy
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from training.budget import Action, StagePacer, TimeBudget
from training.checkpoint import load_checkpoint, save_checkpoint, set_rng_state
from training.config import StageConfig, TrainConfig, save_config, to_dict, validate
from training.data.build import build_dataset, build_loader, curriculum
from training.data.sampling import IterationSampler, sample_seed
from training.logs import EVAL_FIELDS, TRAIN_FIELDS, CsvLog, Meter, TensorBoard
from training.losses import LossConfig
from training.model_init import build_initial, model_config, transfer
from training.runtime import (
    FrameStages,
    amp_dtype,
    check_device,
    configure_backends,
    make_optimizer,
    needs_scaler,
    prepare_network,
)
from training.step import ClipModel, TrainStep
from xmem_core.model.checkpoint import save_weights
from xmem_core.model.network import XMem


@dataclass
class StepSchedule:
    """LR factor: linear warm-up over `warmup` iterations, then ×gamma at each milestone (MultiStepLR).

    A callable object, so LambdaLR saves its fields in the checkpoint; `follow` re-reads them from a (rescaled)
    stage.
    """

    milestones: tuple[int, ...]
    gamma: float = 0.1
    warmup: int = 0

    def __call__(self, it: int) -> float:
        factor = self.gamma ** sum(it >= m for m in self.milestones)
        if self.warmup and it < self.warmup:
            factor *= (it + 1) / self.warmup
        return factor

    @classmethod
    def of(cls, stage: StageConfig) -> StepSchedule:
        return cls(tuple(stage.lr_steps), stage.lr_gamma, stage.warmup_iterations)

    def follow(self, stage: StageConfig, opt: Any, sched: Any) -> None:
        """Take the stage's milestones and warm-up, and set the optimiser's LR for the next iteration to match."""
        self.milestones, self.gamma, self.warmup = tuple(stage.lr_steps), stage.lr_gamma, stage.warmup_iterations
        for group, base in zip(opt.param_groups, sched.base_lrs, strict=True):
            group["lr"] = base * self(sched.last_epoch)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The training device for a config's `device` ("auto", "cpu", "cuda", "cuda:N"), always indexed for CUDA.

    `torch.cuda.set_device` rejects an unindexed CUDA device, so "cuda" and "auto" become `cuda:<local_rank>`
    (0 outside torchrun); an explicit index is kept.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(name)
    if dev.type == "cuda" and dev.index is None:
        return torch.device("cuda", local_rank)
    return dev


def restore_optimizer(opt: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Load an optimiser state saved by any run (CPU, foreach or fused) into `opt`, keeping `opt`'s kernel choice.

    `load_state_dict` takes the saver's `fused`/`foreach` flags and leaves `step` counters where the saver's flags
    put them (on the host unless fused); a fused kernel needs them as float32 on the parameters' device.
    """
    flags = [(g.get("fused"), g.get("foreach")) for g in opt.param_groups]
    opt.load_state_dict(state)
    for g, (fused, foreach) in zip(opt.param_groups, flags, strict=True):
        g["fused"], g["foreach"] = fused, foreach
        for p in g["params"] if fused else []:
            st = opt.state.get(p, {})
            if "step" in st:
                st["step"] = st["step"].to(device=p.device, dtype=torch.float32)


def _dist_env() -> tuple[int, int, int]:
    """(rank, world, local_rank) from torchrun's environment variables."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class StageRun:
    """What a stage's loop reads and a re-plan (`--time-budget`) changes: schedule, loss warm-up, curriculum."""

    si: int
    stage: StageConfig
    net: XMem
    stages: FrameStages
    opt: Any
    sched: Any
    scaler: Any
    schedule: StepSchedule
    step: TrainStep
    sampler: IterationSampler | None
    data: Any  # the loader's iterator (workers already started), None when the stage is complete

    def follow_stage(self) -> None:
        """Re-read the (rescaled) stage: LR milestones and warm-up, bootstrapped-CE warm-up, skip curriculum."""
        st = self.stage
        self.schedule.follow(st, self.opt, self.sched)
        self.step.loss_cfg = LossConfig(st.start_warm, st.end_warm, st.top_p)
        if self.sampler is not None:
            self.sampler.curriculum = curriculum(st)


class Trainer:
    """Runs the configured stages in order; `resume` continues from a checkpoint written by this class.

    stop_after: stop (with a checkpoint) after this many iterations. time_budget: minutes for this invocation
    (`training.budget`), counted from `started` (a `clock` time; default now): the schedule is fitted to it and the
    final weights are written before it ends.
    """

    def __init__(self, cfg: TrainConfig, resume: str | Path | None = None, progress: bool = True,
                 stop_after: int | None = None, time_budget: float | None = None,
                 clock: Any = time.monotonic, started: float | None = None) -> None:
        validate(cfg)
        self.cfg = cfg
        self.budget = TimeBudget(time_budget, clock, start=started) if time_budget else None
        self.stop_left = stop_after  # iterations left in this invocation (None = run to the end)
        self.out = Path(cfg.out_dir)
        self.rank, self.world, local = _dist_env()
        if self.world > 1:
            if self.budget is not None:
                raise ValueError("--time-budget runs in one process (each DDP rank would plan on its own clock)")
            torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
            dev = resolve_device(cfg.device, local)
            self.device = torch.device("cuda", local) if dev.type == "cuda" else dev
        else:
            self.device = resolve_device(cfg.device)
        check_device(self.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        configure_backends(cfg, self.device)
        self.amp = amp_dtype(cfg, self.device)
        self.ckpt = load_checkpoint(resume) if resume else None
        self.progress = progress and self.rank == 0
        self.main = self.rank == 0
        self.train_log = CsvLog(self.out / "train_log.csv", TRAIN_FIELDS) if self.main else None
        self.eval_log = CsvLog(self.out / "eval_log.csv", EVAL_FIELDS) if self.main else None
        self.tb = TensorBoard(self.out / "tb", cfg.tensorboard and self.main)
        self.net: XMem | None = None
        self.final_weights: Path | None = None
        self.finished = False  # all stages ran to their end (False after --stop-after or a time-budget cut)
        self.last_eval: dict[str, float] = {}
        if self.main:
            save_config(cfg, self.out / "config.json")

    # ------------------------------------------------------------ stages

    def run(self) -> Path | None:
        """Train every remaining stage; returns the path of the final inference weights (None if none written)."""
        start_stage = self.ckpt["stage"] if self.ckpt else 0
        self.finished = True
        for si in range(start_stage, len(self.cfg.stages)):
            resume = self.ckpt if (self.ckpt and si == start_stage) else None
            if not self._run_stage(si, resume):
                self.finished = False
                break
        self.tb.close()
        return self.final_weights

    def _stage_net(self, si: int, resume: dict[str, Any] | None) -> XMem:
        stage = self.cfg.stages[si]
        if resume is not None:
            net = XMem(model_config(self.cfg, stage))
            net.load_state_dict(resume["network"])
        elif si == 0 or self.net is None:
            net = build_initial(self.cfg, stage)
        else:
            net = transfer(self.net, self.cfg, stage)
        return prepare_network(net, self.cfg, self.device)

    def _open_data(self, si: int, stage: StageConfig, start: int) -> tuple[Any, IterationSampler]:
        """Build the stage's loader and start its workers (they load while the network is built)."""
        dataset = build_dataset(stage, self.cfg)
        pin = self.cfg.pin_memory and self.device.type == "cuda"
        end = None if self.budget is None else 10**9  # a budgeted stage may grow: the loop decides where to stop
        loader, sampler = build_loader(dataset, stage, self.cfg, si, start, self.rank, self.world, pin, end)
        return iter(loader), sampler

    def _run_stage(self, si: int, resume: dict[str, Any] | None) -> bool:
        """Train stage `si`; False when stopped early (`stop_after` or a time-budget cut; a checkpoint was written)."""
        stage = self.cfg.stages[si]
        start = resume["it"] if resume is not None else 0
        seed_all(sample_seed(self.cfg.seed, si, self.rank))
        data, sampler = self._open_data(si, stage, start) if start < stage.total_iterations else (None, None)
        net = self.net = self._stage_net(si, resume)
        net.eval()  # frozen BatchNorm (the whole network stays in eval mode, as in the official trainer)
        stages = FrameStages(net, self.cfg.compile, self.cfg.compile_mode)
        model: nn.Module = ClipModel(net, stages, self.cfg.channels_last)
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = nn.parallel.DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)
        opt = make_optimizer(net.parameters(), stage, self.cfg, self.device)
        schedule = StepSchedule.of(stage)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        scaler = torch.amp.GradScaler(self.device.type, enabled=needs_scaler(self.amp))
        if resume is not None:
            self._restore(resume, opt, sched, scaler)
        step = TrainStep(model, opt, sched, scaler, stage, LossConfig(stage.start_warm, stage.end_warm, stage.top_p),
                         self.device, self.amp, self.cfg.seed, si, self.rank)
        run = StageRun(si, stage, net, stages, opt, sched, scaler, schedule, step, sampler, data)
        run.follow_stage()  # a resumed stage may have been rescaled since the checkpoint's scheduler was saved
        return self._loop(run, start)

    def _restore(self, resume: dict[str, Any], opt: Any, sched: Any, scaler: Any) -> None:
        restore_optimizer(opt, resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        if scaler.is_enabled() and resume["scaler"]:  # a bf16/fp32 run saved a disabled (empty) scaler
            scaler.load_state_dict(resume["scaler"])
        set_rng_state(resume["rng"])

    # ------------------------------------------------------------ the loop

    def _loop(self, run: StageRun, start: int) -> bool:
        stage, si = run.stage, run.si
        it = start
        if it < stage.total_iterations:
            pacer = None
            if self.budget is not None:
                pacer = StagePacer(self.budget, self.budget.stage_end(self.cfg.stages, si, start), start,
                                   eval_after=bool(self.cfg.eval.root) and self.main)
            cur = curriculum(stage)
            bar = tqdm(total=stage.total_iterations, initial=start, desc=stage.name, disable=not self.progress,
                       dynamic_ncols=True)
            meter, t_win, t_wait = Meter(), time.perf_counter(), time.perf_counter()
            while it < stage.total_iterations:
                batch = next(run.data)
                wait = time.perf_counter() - t_wait
                meter.add({**self._step(run, batch, it), "data_wait_s": wait})
                bar.update(1)
                done = it + 1
                if done % self.cfg.log_every == 0 or done == stage.total_iterations:
                    t_win = self._log(stage, done, cur.at(it), run.opt, meter, t_win, bar)
                self._periodic(run, done)
                action = pacer.after(done, stage.total_iterations) if pacer is not None else Action.GO
                if action is Action.PLAN:
                    self._replan(run, pacer.fit(done), done, bar)  # type: ignore[union-attr]
                    cur = curriculum(stage)
                if action is Action.CUT or self._stop_now(done, stage.total_iterations):
                    bar.close()
                    self._stop(run, done, cut=action is Action.CUT)
                    return False
                it, t_wait = done, time.perf_counter()
            bar.close()
        run.data = None  # lets the workers go
        self._finish_stage(run)
        return True

    def _step(self, run: StageRun, batch: dict[str, Any], it: int) -> dict[str, Any]:
        """One iteration; with compiled stages, a compilation failure falls back to eager and retries once."""
        if not run.stages.compiled:
            return run.step.step(batch, it)
        try:
            return run.step.step(batch, it)
        except torch.OutOfMemoryError:
            raise
        except Exception as exc:  # e.g. an inductor failure in the lazily compiled backward
            tqdm.write(f"[compile] failed at {run.stage.name}:{it} ({type(exc).__name__}); continuing eagerly")
            run.stages.to_eager(exc)
            return run.step.step(batch, it)

    def _replan(self, run: StageRun, total: int, done: int, bar: tqdm) -> None:
        """Fit the stage to `total` iterations (never below `done`), moving its schedule with it."""
        stage = run.stage
        old = stage.total_iterations
        stage.rescale_total(max(total, done))
        run.follow_stage()
        bar.total = stage.total_iterations
        bar.refresh()
        if stage.total_iterations != old:
            tqdm.write(f"[budget] {stage.name}: {old} -> {stage.total_iterations} iterations (LR drops "
                       f"{stage.lr_steps}, fine-tune {stage.finetune_iterations}) to end in time")

    def _stop_now(self, done: int, total: int) -> bool:
        if self.stop_left is None:
            return False
        self.stop_left -= 1
        return self.stop_left <= 0 and done < total

    def _stop(self, run: StageRun, done: int, cut: bool) -> None:
        """End this invocation mid-stage: a checkpoint to resume from and, on a time-budget cut, the weights."""
        if self.main:
            self._checkpoint(run, done)
            if cut:
                tqdm.write(f"[budget] {run.stage.name}: out of time at iteration {done}; saving the final weights")
                self._save_weights(run.stage, done, run.net)

    # ------------------------------------------------------------ bookkeeping

    def _log(self, stage: StageConfig, done: int, skip_ft: tuple[int, bool], opt: Any, meter: Meter,
             t_win: float, bar: tqdm) -> float:
        m = meter.means()  # the window's one host synchronisation
        now = time.perf_counter()
        ips = meter.count / max(now - t_win, 1e-9)
        row = {"stage": stage.name, "iteration": done, "phase": "finetune" if skip_ft[1] else "main",
               "max_skip": skip_ft[0], "lr": opt.param_groups[0]["lr"], "it_per_s": round(ips, 4),
               "samples_per_s": round(ips * stage.batch_size, 4),
               **{k: round(v, 5) for k, v in m.items()}}
        if self.main and self.train_log is not None:
            self.train_log.write(row)
            self.tb.scalars(f"train_{stage.name}", {k: float(v) for k, v in row.items()
                                                     if isinstance(v, (int, float))}, done)
        bar.set_postfix(loss=f"{m.get('loss', 0):.3f}", lr=f"{row['lr']:.1e}", it_s=f"{ips:.2f}",
                        **({"JF": f"{self.last_eval['JF']:.3f}"} if self.last_eval else {}))
        meter.reset()
        return now

    def _weights_meta(self, stage: StageConfig, done: int) -> dict[str, Any]:
        return {"stage": stage.name, "iteration": done, "model": self.cfg.model, "trainer": "training.train",
                **({"davis16_dev_JF": self.last_eval.get("JF")} if self.last_eval else {})}

    def _periodic(self, run: StageRun, done: int) -> None:
        stage, cfg = run.stage, self.cfg
        if not self.main or done == stage.total_iterations:
            return
        if cfg.save_every and done % cfg.save_every == 0:
            save_weights(self._plain(run.net), self.out / "weights" / f"{stage.name}_{done:07d}.pth",
                         self._weights_meta(stage, done))
        if cfg.checkpoint_every and done % cfg.checkpoint_every == 0:
            self._checkpoint(run, done)
        if cfg.eval.root and cfg.eval.every and done % cfg.eval.every == 0 and self._eval_fits():
            self._evaluate(stage, done, run.net)

    def _eval_fits(self) -> bool:
        return self.budget is None or self.budget.allows_eval()

    def _checkpoint(self, run: StageRun, it: int) -> None:
        save_checkpoint(self.out / "checkpoints" / "last.pth", stage=run.si, it=it, net=run.net, optimizer=run.opt,
                        scheduler=run.sched, scaler=run.scaler, config=to_dict(self.cfg))

    def _plain(self, net: XMem) -> XMem:
        """The network with its weights in the standard layout, for weights files (a copy when training NHWC)."""
        return copy.deepcopy(net).to(memory_format=torch.contiguous_format) if self.cfg.channels_last else net

    def _save_weights(self, stage: StageConfig, done: int, net: XMem) -> None:
        """`weights/<stage>_final.pth` and `final.pth` (fp16 with `half_weights`)."""
        meta = self._weights_meta(stage, done)
        plain = self._plain(net)
        save_weights(plain, self.out / "weights" / f"{stage.name}_final.pth", meta)
        save_weights(plain, self.out / "final.pth", meta, half=self.cfg.half_weights)
        self.final_weights = self.out / "final.pth"

    def _finish_stage(self, run: StageRun) -> None:
        """Checkpoint, evaluation and weights at a stage's end. Under a time budget the weights are written first
        and the evaluation runs only if it fits (then the weights are written again with its score)."""
        stage, total = run.stage, run.stage.total_iterations
        if self.main:
            t0 = time.perf_counter()
            self._checkpoint(run, total)
            if self.budget is not None:
                self._save_weights(stage, total, run.net)
                self.budget.note_save(time.perf_counter() - t0)
            evaluated = bool(self.cfg.eval.root) and self._eval_fits() and self._evaluate(stage, total, run.net)
            if self.budget is None or (evaluated and self.budget.remaining() > self.budget.save_s):
                self._save_weights(stage, total, run.net)
        if self.world > 1:
            torch.distributed.barrier()

    def _evaluate(self, stage: StageConfig, done: int, net: XMem) -> bool:
        """Score `net` on the eval folder and log it; False when the evaluation failed (never raises)."""
        from training.evaluate import evaluate_davis  # engine inference stack, imported only when used

        e = self.cfg.eval
        try:
            res = evaluate_davis(net, e.root, e.size, e.max_frames, e.clips or None, self.device)
        except Exception as exc:  # evaluation must never kill a long run
            tqdm.write(f"[eval] failed at {stage.name}:{done}: {exc!r}")
            return False
        if self.budget is not None:
            self.budget.note_eval(res.seconds)
        self.last_eval = {"J": res.J, "F": res.F, "JF": res.JF}
        tqdm.write(f"[eval] {stage.name} it {done}: J&F {res.JF:.4f} (J {res.J:.4f}, F {res.F:.4f}) "
                   f"in {res.seconds:.0f}s")
        if self.eval_log is not None:
            self.eval_log.write({"stage": stage.name, "iteration": done, "J": round(res.J, 5), "F": round(res.F, 5),
                                 "JF": round(res.JF, 5), "clips": len(res.per_clip), "seconds": round(res.seconds, 1)})
        self.tb.scalars("eval", self.last_eval, done)
        net.eval()
        return True
