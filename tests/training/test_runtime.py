"""Speed settings: AMP dtype choice, fused AdamW, compile fallback, channels-last and sync-free bookkeeping."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.training.test_trainer import TINY, _config, _main_stage
from training.config import StageConfig, TrainConfig
from training.forward import memory_indices, normalize_rgb, plan_clip, run_clip
from training.logs import Meter
from training.model_init import model_config
from training.runtime import FrameStages, SafeCompiled, amp_dtype, make_optimizer, needs_scaler
from training.trainer import Trainer
from xmem_core.model.network import XMem


def test_amp_dtype_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    assert amp_dtype(TrainConfig(amp=True), cpu) is None  # AMP is CUDA-only
    assert amp_dtype(TrainConfig(amp=False), cuda) is None
    assert amp_dtype(TrainConfig(amp_dtype="fp16"), cuda) is torch.float16
    assert amp_dtype(TrainConfig(amp_dtype="bf16"), cuda) is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert amp_dtype(TrainConfig(), cuda) is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)  # e.g. a V100
    assert amp_dtype(TrainConfig(), cuda) is torch.float16
    assert needs_scaler(torch.float16) and not needs_scaler(torch.bfloat16) and not needs_scaler(None)


def test_fused_adamw_only_on_cuda() -> None:
    params = [torch.nn.Parameter(torch.zeros(3))]
    st = StageConfig(lr=2e-5)
    assert make_optimizer(params, st, TrainConfig(), torch.device("cuda", 0)).param_groups[0]["fused"]
    assert not make_optimizer(params, st, TrainConfig(), torch.device("cpu")).param_groups[0]["fused"]
    assert not make_optimizer(params, st, TrainConfig(fused_adamw=False), torch.device("cuda", 0)
                              ).param_groups[0]["fused"]


def test_safe_compiled_falls_back_to_eager(caplog: pytest.LogCaptureFixture) -> None:
    def fn(x: torch.Tensor) -> torch.Tensor:
        return x * 2

    def broken_compiler(f: Any, **kw: Any) -> Any:
        def run(*a: Any, **k: Any) -> Any:
            raise RuntimeError("inductor: no C++ compiler")
        return run

    def refusing_compiler(f: Any, **kw: Any) -> Any:
        raise RuntimeError("torch.compile is not supported on this platform")

    x = torch.ones(2)
    with caplog.at_level(logging.WARNING):
        lazy = SafeCompiled(fn, "fn", compiler=broken_compiler)
        assert lazy.active
        assert torch.equal(lazy(x), x * 2) and not lazy.active  # failed at the call: eager from then on
        eager = SafeCompiled(fn, "fn", compiler=refusing_compiler)
        assert not eager.active and torch.equal(eager(x), x * 2)
    assert caplog.text.count("running it eagerly") == 2

    def oom_compiler(f: Any, **kw: Any) -> Any:
        def run(*a: Any, **k: Any) -> Any:
            raise torch.OutOfMemoryError("out of memory")
        return run

    with pytest.raises(torch.OutOfMemoryError):  # not a compilation problem: no silent retry
        SafeCompiled(fn, "fn", compiler=oom_compiler)(x)


def _tiny_net() -> XMem:
    torch.manual_seed(0)
    return XMem(model_config(TrainConfig(model="xmem-lite", model_overrides=dict(TINY)), StageConfig())).eval()


def _clip(b: int = 2, t: int = 4, n: int = 2, s: int = 32) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    rgb = normalize_rgb(torch.randint(0, 256, (b, t, 3, s, s), dtype=torch.uint8, generator=g))
    first = (torch.rand(b, n, s, s, generator=g) > 0.5).float()
    return rgb, first, torch.ones(b, n)


def test_plan_clip_draws_in_the_order_of_the_unrolled_pass() -> None:
    """Drawing the memory frames and deep-update coins up front keeps the random stream of the per-query loop."""
    seed, b, t, num_ref, p = 7, 3, 8, 3, 0.4
    rng = np.random.default_rng(seed)
    old_idx, old_coins = [], []
    for ti in range(1, t):
        old_idx.append(memory_indices(rng, b, ti, num_ref))
        old_coins.append(bool(rng.random() < p) if ti < t - 1 else False)
    idx, coins = plan_clip(np.random.default_rng(seed), b, t, num_ref, p)
    assert coins == old_coins and all(np.array_equal(a, c) for a, c in zip(idx, old_idx, strict=True))


def test_channels_last_gives_the_same_pass() -> None:
    net = _tiny_net()
    rgb, first, sel = _clip()
    ref = run_clip(net, rgb, first, sel, np.random.default_rng(3), 2, 0.5)
    fast_net = _tiny_net().to(memory_format=torch.channels_last)
    out = run_clip(FrameStages(fast_net), rgb, first, sel, np.random.default_rng(3), 2, 0.5,  # type: ignore[arg-type]
                   channels_last=True)
    for a, b in zip(ref.logits + ref.probs, out.logits + out.probs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_meter_sums_device_values_and_reads_once() -> None:
    m = Meter()
    m.add({"loss": torch.tensor(1.0), "p": torch.tensor(0.5), "data_wait_s": 0.25})
    m.add({"loss": torch.tensor(3.0), "p": torch.tensor(1.0), "data_wait_s": 0.75})
    assert m.means() == {"loss": 2.0, "p": 0.75, "data_wait_s": 0.5}
    m.reset()
    assert m.means() == {} and m.count == 0


def _grad_bomb_compiler(f: Any, **kw: Any) -> Any:
    """A stand-in for a compiled stage whose (lazily compiled) backward fails: the forward runs, backward raises."""
    def boom(_: torch.Tensor) -> None:
        raise RuntimeError("inductor: backward compilation failed")

    def run(*a: Any, **k: Any) -> Any:
        out = f(*a, **k)
        first = out.key if hasattr(out, "key") else next(x for x in out if isinstance(x, torch.Tensor))
        if first.requires_grad:
            first.register_hook(boom)
        return out
    return run


def test_trainer_survives_a_compile_failure_in_backward(data_root: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(torch, "compile", _grad_bomb_compiler)
    cfg = _config(data_root, tmp_path / "run", [_main_stage(data_root, 2)])
    cfg.compile = True
    trainer = Trainer(cfg, progress=False)
    assert trainer.run() is not None and trainer.finished
    assert "[compile] failed at main:0" in capsys.readouterr().out
    rows = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 and all("nan" not in r.split(",")[6] for r in rows[1:])


def test_per_frame_stages_trace_without_graph_breaks() -> None:
    """What `--compile` compiles must be one graph per stage (a break splits it, and per-shape recompiles of the
    pieces soon hit dynamo's limit and fall back to eager); checked with dynamo's tracer, no compiler needed."""
    import torch._dynamo as dynamo

    net = _tiny_net().to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    feats = net.encode_key(x)
    masks, hidden = torch.rand(2, 2, 32, 32), torch.zeros(2, 2, net.config.hidden_dim, 2, 2)
    value, hidden = net.encode_value(x, feats.f16, hidden, masks, True)
    readout = torch.randn(2, 2, value.shape[2], 2, 2)
    calls = [(net.encode_key, (x, True, True)), (net.encode_value, (x, feats.f16, hidden, masks, False)),
             (net.segment, (feats, readout, hidden, True, torch.ones(2, 2), True))]
    for fn, args in calls:
        dynamo.reset()
        report = dynamo.explain(fn)(*args)
        assert report.graph_break_count == 0, (fn.__name__, [b.reason.splitlines()[0] for b in report.break_reasons])


def test_weights_files_keep_the_standard_layout(data_root: Path, tmp_path: Path) -> None:
    """Training runs NHWC, but the weights it writes are plain contiguous tensors (what the engine and tools expect)."""
    cfg = _config(data_root, tmp_path / "run", [_main_stage(data_root, 2)])
    assert cfg.channels_last
    trainer = Trainer(cfg, progress=False)
    final = trainer.run()
    assert trainer.net is not None and trainer.net.key_proj.key_proj.weight.is_contiguous(
        memory_format=torch.channels_last) and not trainer.net.key_proj.key_proj.weight.is_contiguous()
    state = torch.load(final, weights_only=True)["state_dict"]
    assert all(v.is_contiguous() for v in state.values())


def test_unusable_cuda_is_a_message(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from training.runtime import check_device
    from training.train import main

    check_device(torch.device("cpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        check_device(torch.device("cuda", 0))
    assert main(["--preset", "tiny", "--device", "cuda", "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("error: device cuda:0 was asked for")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="only 1 CUDA GPU"):
        check_device(torch.device("cuda", 1))


def test_fused_optimizer_resumes_from_a_foreach_state() -> None:
    """A checkpoint of a CPU/foreach run resumed with the fused kernel: flags stay fused, step counters move to the
    parameters' device as float32 (what the fused kernel needs), and the step runs."""
    from training.trainer import restore_optimizer

    p = torch.nn.Parameter(torch.ones(4))
    saver = torch.optim.AdamW([p], lr=1e-3, foreach=True)
    p.grad = torch.ones(4)
    saver.step()
    q = torch.nn.Parameter(p.detach().clone())
    fused = torch.optim.AdamW([q], lr=1e-3, fused=True)
    restore_optimizer(fused, saver.state_dict())
    assert fused.param_groups[0]["fused"] and not fused.param_groups[0]["foreach"]
    step = fused.state[q]["step"]
    assert step.dtype == torch.float32 and step.device == q.device and float(step) == 1.0
    q.grad = torch.ones(4)
    fused.step()
    assert float(fused.state[q]["step"]) == 2.0
