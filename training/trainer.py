"""The stage loop: optimiser, LR schedule, AMP, frozen BN, logging, snapshots, checkpoints and evaluation."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from training.checkpoint import load_checkpoint, save_checkpoint, set_rng_state
from training.config import StageConfig, TrainConfig, save_config, to_dict, validate
from training.data.build import build_dataset, build_loader, curriculum
from training.data.sampling import sample_seed
from training.forward import ClipOutput, normalize_rgb, run_clip
from training.logs import EVAL_FIELDS, TRAIN_FIELDS, CsvLog, Meter, TensorBoard
from training.losses import LossConfig, xmem_loss
from training.model_init import build_initial, model_config, transfer
from xmem_core.model.checkpoint import save_weights
from xmem_core.model.network import XMem


@dataclass
class StepSchedule:
    """LR factor: linear warm-up over `warmup` iterations, then ×gamma at each milestone (MultiStepLR)."""

    milestones: tuple[int, ...]
    gamma: float = 0.1
    warmup: int = 0

    def __call__(self, it: int) -> float:
        factor = self.gamma ** sum(it >= m for m in self.milestones)
        if self.warmup and it < self.warmup:
            factor *= (it + 1) / self.warmup
        return factor


class ClipModel(nn.Module):
    """`forward` = the unrolled clip pass, so DistributedDataParallel can wrap it."""

    def __init__(self, net: XMem) -> None:
        super().__init__()
        self.net = net

    def forward(self, rgb: Tensor, first: Tensor, selector: Tensor, rng: np.random.Generator, num_ref: int,
                deep_p: float) -> ClipOutput:
        return run_clip(self.net, rgb, first, selector, rng, num_ref, deep_p)


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


def _dist_env() -> tuple[int, int, int]:
    """(rank, world, local_rank) from torchrun's environment variables."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """Runs the configured stages in order; `resume` continues from a checkpoint written by this class."""

    def __init__(self, cfg: TrainConfig, resume: str | Path | None = None, progress: bool = True,
                 stop_after: int | None = None) -> None:
        validate(cfg)
        self.cfg = cfg
        self.budget = stop_after  # iterations left in this invocation (None = run to the end)
        self.out = Path(cfg.out_dir)
        self.rank, self.world, local = _dist_env()
        if self.world > 1:
            torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
            dev = resolve_device(cfg.device, local)
            self.device = torch.device("cuda", local) if dev.type == "cuda" else dev
        else:
            self.device = resolve_device(cfg.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.ckpt = load_checkpoint(resume) if resume else None
        self.progress = progress and self.rank == 0
        self.main = self.rank == 0
        self.amp = cfg.amp and self.device.type == "cuda"
        self.train_log = CsvLog(self.out / "train_log.csv", TRAIN_FIELDS) if self.main else None
        self.eval_log = CsvLog(self.out / "eval_log.csv", EVAL_FIELDS) if self.main else None
        self.tb = TensorBoard(self.out / "tb", cfg.tensorboard and self.main)
        self.net: XMem | None = None
        self.final_weights: Path | None = None
        self.last_eval: dict[str, float] = {}
        if self.main:
            save_config(cfg, self.out / "config.json")

    # ------------------------------------------------------------ stages

    def run(self) -> Path | None:
        """Train every remaining stage; returns the path of the final inference weights."""
        start_stage = self.ckpt["stage"] if self.ckpt else 0
        for si in range(start_stage, len(self.cfg.stages)):
            resume = self.ckpt if (self.ckpt and si == start_stage) else None
            if not self._run_stage(si, resume):
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
        return net.to(self.device)

    def _run_stage(self, si: int, resume: dict[str, Any] | None) -> bool:
        """Train stage `si`; False when stopped early by `stop_after` (a checkpoint was written)."""
        stage = self.cfg.stages[si]
        seed_all(sample_seed(self.cfg.seed, si, self.rank))
        net = self.net = self._stage_net(si, resume)
        net.eval()  # frozen BatchNorm (the whole network stays in eval mode, as in the official trainer)
        model: nn.Module = ClipModel(net)
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = nn.parallel.DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)
        opt = torch.optim.AdamW(net.parameters(), lr=stage.effective_lr(), weight_decay=stage.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, StepSchedule(tuple(stage.lr_steps), stage.lr_gamma, stage.warmup_iterations))
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        start = 0
        if resume is not None:
            opt.load_state_dict(resume["optimizer"])
            sched.load_state_dict(resume["scheduler"])
            scaler.load_state_dict(resume["scaler"])
            set_rng_state(resume["rng"])
            start = resume["it"]
        return self._loop(si, stage, model, net, opt, sched, scaler, start)

    def _loop(self, si: int, stage: StageConfig, model: nn.Module, net: XMem, opt: Any, sched: Any, scaler: Any,
              start: int) -> bool:
        total = stage.total_iterations
        if start < total:
            dataset = build_dataset(stage, self.cfg)
            pin = self.cfg.pin_memory and self.device.type == "cuda"
            loader, _ = build_loader(dataset, stage, self.cfg, si, start, self.rank, self.world, pin)
            cur = curriculum(stage)
            loss_cfg = LossConfig(stage.start_warm, stage.end_warm, stage.top_p)
            bar = tqdm(total=total, initial=start, desc=stage.name, disable=not self.progress, dynamic_ncols=True)
            meter, t_win, t_wait = Meter(), time.perf_counter(), time.perf_counter()
            for it, batch in zip(range(start, total), loader, strict=False):
                wait = time.perf_counter() - t_wait
                stats = self._step(si, it, stage, model, batch, opt, sched, scaler, loss_cfg)
                meter.add({**stats, "data_wait_s": wait})
                bar.update(1)
                done = it + 1
                if done % self.cfg.log_every == 0 or done == total:
                    t_win = self._log(si, stage, done, cur.at(it), sched, meter, t_win, bar)
                self._periodic(si, stage, done, total, net, opt, sched, scaler)
                if self.budget is not None:
                    self.budget -= 1
                    if self.budget <= 0 and done < total:
                        bar.close()
                        if self.main:
                            self._checkpoint(si, done, net, opt, sched, scaler)
                        return False
                t_wait = time.perf_counter()
            bar.close()
        self._finish_stage(si, stage, net, opt, sched, scaler, total)
        return True

    # ------------------------------------------------------------ one iteration

    def _step(self, si: int, it: int, stage: StageConfig, model: nn.Module, batch: dict[str, Any], opt: Any,
              sched: Any, scaler: Any, loss_cfg: LossConfig) -> dict[str, float]:
        dev = self.device
        rgb = normalize_rgb(batch["rgb"].to(dev, non_blocking=True))  # B×T×3×H×W
        first = batch["first_frame_gt"].to(dev, non_blocking=True)[:, 0]  # B×N×H×W
        selector = batch["selector"].to(dev, non_blocking=True)  # B×N
        cls_gt = batch["cls_gt"].to(dev, non_blocking=True)  # B×T×1×H×W uint8
        rng = np.random.default_rng(sample_seed(self.cfg.seed, si, it, self.rank, 0xD0))
        with torch.autocast(dev.type, dtype=torch.float16, enabled=self.amp):
            out = model(rgb, first, selector, rng, stage.num_ref_frames, stage.deep_update_prob)
        losses = xmem_loss(out.logits, out.probs, cls_gt, batch["num_objects"], it, loss_cfg)
        opt.zero_grad(set_to_none=True)
        scaler.scale(losses["total"]).backward()
        scaler.unscale_(opt)
        max_norm = stage.grad_clip if stage.grad_clip > 0 else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        scaler.step(opt)
        scaler.update()
        sched.step()
        return {"loss": losses["total"].item(), "ce": losses["ce"].item(), "dice": losses["dice"].item(),
                "p": float(losses["p"]), "grad_norm": float(grad_norm)}

    # ------------------------------------------------------------ bookkeeping

    def _log(self, si: int, stage: StageConfig, done: int, skip_ft: tuple[int, bool], sched: Any, meter: Meter,
             t_win: float, bar: tqdm) -> float:
        now = time.perf_counter()
        m = meter.means()
        ips = meter.count / max(now - t_win, 1e-9)
        row = {"stage": stage.name, "iteration": done, "phase": "finetune" if skip_ft[1] else "main",
               "max_skip": skip_ft[0], "lr": sched.get_last_lr()[0], "it_per_s": round(ips, 4),
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

    def _periodic(self, si: int, stage: StageConfig, done: int, total: int, net: XMem, opt: Any, sched: Any,
                  scaler: Any) -> None:
        if not self.main or done == total:
            return
        cfg = self.cfg
        if cfg.save_every and done % cfg.save_every == 0:
            save_weights(net, self.out / "weights" / f"{stage.name}_{done:07d}.pth", self._weights_meta(stage, done))
        if cfg.checkpoint_every and done % cfg.checkpoint_every == 0:
            self._checkpoint(si, done, net, opt, sched, scaler)
        if cfg.eval.root and cfg.eval.every and done % cfg.eval.every == 0:
            self._evaluate(stage, done, net)

    def _checkpoint(self, si: int, it: int, net: XMem, opt: Any, sched: Any, scaler: Any) -> None:
        save_checkpoint(self.out / "checkpoints" / "last.pth", stage=si, it=it, net=net, optimizer=opt,
                        scheduler=sched, scaler=scaler, config=to_dict(self.cfg))

    def _finish_stage(self, si: int, stage: StageConfig, net: XMem, opt: Any, sched: Any, scaler: Any,
                      total: int) -> None:
        if self.main:
            self._checkpoint(si, total, net, opt, sched, scaler)
            if self.cfg.eval.root:
                self._evaluate(stage, total, net)
            path = self.out / "weights" / f"{stage.name}_final.pth"
            save_weights(net, path, self._weights_meta(stage, total))
            save_weights(net, self.out / "final.pth", self._weights_meta(stage, total), half=self.cfg.half_weights)
            self.final_weights = self.out / "final.pth"
        if self.world > 1:
            torch.distributed.barrier()

    def _evaluate(self, stage: StageConfig, done: int, net: XMem) -> None:
        from training.evaluate import evaluate_davis  # engine inference stack, imported only when used

        e = self.cfg.eval
        try:
            res = evaluate_davis(net, e.root, e.size, e.max_frames, e.clips or None, self.device)
        except Exception as exc:  # evaluation must never kill a long run
            tqdm.write(f"[eval] failed at {stage.name}:{done}: {exc!r}")
            return
        self.last_eval = {"J": res.J, "F": res.F, "JF": res.JF}
        tqdm.write(f"[eval] {stage.name} it {done}: J&F {res.JF:.4f} (J {res.J:.4f}, F {res.F:.4f}) "
                   f"in {res.seconds:.0f}s")
        if self.eval_log is not None:
            self.eval_log.write({"stage": stage.name, "iteration": done, "J": round(res.J, 5), "F": round(res.F, 5),
                                 "JF": round(res.JF, 5), "clips": len(res.per_clip), "seconds": round(res.seconds, 1)})
        self.tb.scalars("eval", self.last_eval, done)
        net.eval()
