"""A few iterations of a tiny configuration end to end: stages, weights, resume, engine loading, evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from training.config import DataSource, EvalConfig, StageConfig, TrainConfig
from training.model_init import model_config, transfer
from training.trainer import StepSchedule, Trainer
from xmem_core.model.checkpoint import load_model
from xmem_core.model.network import XMem

TINY = {"key_backbone": "efficientnet-lite0", "value_backbone": "efficientnet-lite0", "key_dim": 8,
        "value_dim": 16, "hidden_dim": 4, "decoder_dims": [16, 8, 8]}


def _stage(name: str, data: list[DataSource], **kw: object) -> StageConfig:
    base = dict(iterations=2, finetune_iterations=0, batch_size=2, lr=1e-4, lr_steps=[1], size=32, num_frames=3,
                num_ref_frames=2, max_objects=1, single_object=True, skip_values=[2], skip_milestones=[],
                start_warm=1, end_warm=2)
    base.update(kw)
    return StageConfig(name=name, data=data, **base)  # type: ignore[arg-type]


def _config(root: Path, out: Path, stages: list[StageConfig], eval_root: str = "") -> TrainConfig:
    return TrainConfig(model="xmem-lite", model_overrides=dict(TINY), imagenet=False, stages=stages,
                       out_dir=str(out), device="cpu", amp=True, num_workers=0, cache_mb=8, log_every=1,
                       save_every=1, checkpoint_every=100, threads=1,
                       eval=EvalConfig(root=eval_root, size=32, max_frames=3, clips=["clip0"] if eval_root else []))


def _main_stage(root: Path, iterations: int = 2) -> StageConfig:
    return _stage("main", [DataSource(str(root / "davis"), kind="davis", paste=True)], iterations=iterations,
                  finetune_iterations=1, num_frames=4, num_ref_frames=2, max_objects=3, single_object=False,
                  skip_values=[2, 3], skip_milestones=[0.5])


def test_two_stages_end_to_end(data_root: Path, tmp_path: Path) -> None:
    static = _stage("static", [DataSource(str(data_root / "ecssd")), DataSource(str(data_root / "davis"),
                                                                                 layout="davis", every=4)])
    cfg = _config(data_root, tmp_path / "run", [static, _main_stage(data_root)], str(data_root / "davis"))
    final = Trainer(cfg, progress=False).run()
    assert final is not None and final.exists()
    log = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    assert log[0].startswith("time,stage,iteration") and len(log) == 1 + 2 + 3
    assert "finetune" in log[-1]
    evals = (tmp_path / "run" / "eval_log.csv").read_text().splitlines()
    assert len(evals) == 3  # header + one evaluation per stage end
    jf = float(evals[-1].split(",")[5])
    assert 0.0 <= jf <= 1.0
    assert (tmp_path / "run" / "weights" / "static_final.pth").exists()
    assert (tmp_path / "run" / "weights" / "main_0000001.pth").exists()
    net = load_model(final)  # plain inference weights the engine loads directly
    assert isinstance(net, XMem) and not net.config.single_object and net.config.value_dim == 16
    sd = torch.load(final, weights_only=True)
    assert sd["meta"]["stage"] == "main" and sd["meta"]["iteration"] == 3


def test_resume_reaches_the_same_state(data_root: Path, tmp_path: Path) -> None:
    straight = Trainer(_config(data_root, tmp_path / "a", [_main_stage(data_root, 3)]), progress=False)
    straight.run()
    cfg_b = _config(data_root, tmp_path / "b", [_main_stage(data_root, 3)])
    assert Trainer(cfg_b, progress=False, stop_after=2).run() is None  # stopped early with a checkpoint
    ckpt = tmp_path / "b" / "checkpoints" / "last.pth"
    assert torch.load(ckpt, weights_only=False)["it"] == 2
    resumed = Trainer(cfg_b, resume=ckpt, progress=False)
    resumed.run()
    a, b = straight.net.state_dict(), resumed.net.state_dict()  # type: ignore[union-attr]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)
    ca = torch.load(tmp_path / "a" / "checkpoints" / "last.pth", weights_only=False)
    cb = torch.load(ckpt, weights_only=False)
    assert ca["it"] == cb["it"] == 4 and ca["scheduler"]["last_epoch"] == cb["scheduler"]["last_epoch"]


def test_transfer_single_to_multi_object() -> None:
    cfg = TrainConfig(model="xmem-lite", model_overrides=dict(TINY))
    single = XMem(model_config(cfg, StageConfig(single_object=True)))
    multi = transfer(single, cfg, StageConfig(single_object=False))
    s, m = single.state_dict(), multi.state_dict()
    changed = [k for k in s if s[k].shape != m[k].shape]
    assert len(changed) == 1 and m[changed[0]].shape[1] == s[changed[0]].shape[1] + 1
    torch.testing.assert_close(m[changed[0]][:, :-1], s[changed[0]])
    assert m[changed[0]][:, -1].abs().sum() > 0  # orthogonal init of the new "others" channel


def test_step_schedule() -> None:
    sch = StepSchedule((10, 20), 0.1, warmup=4)
    assert [round(sch(i), 6) for i in (0, 3, 9, 10, 25)] == [0.25, 1.0, 1.0, 0.1, 0.01]
    assert np.isclose(StepSchedule(())(5), 1.0)
