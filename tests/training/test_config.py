"""Config files, overrides, presets and the CLI's config resolution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.config import (
    StageConfig,
    TrainConfig,
    apply_override,
    from_dict,
    load_file,
    save_config,
    to_dict,
    validate,
)
from training.presets import PRESETS, get_preset
from training.train import main, parse_args, resolve_config


def test_presets_roundtrip(tmp_path: Path) -> None:
    for name in PRESETS:
        cfg = get_preset(name)
        save_config(cfg, tmp_path / f"{name}.json")
        assert to_dict(from_dict(TrainConfig, load_file(tmp_path / f"{name}.json"))) == to_dict(cfg)
    paper = get_preset("paper")
    static, main_stage = paper.stages
    assert (static.iterations, static.batch_size, static.num_frames, static.single_object) == (150_000, 16, 3, True)
    assert (main_stage.iterations, main_stage.finetune_iterations, main_stage.batch_size) == (100_000, 10_000, 8)
    assert main_stage.lr == 1e-5 and main_stage.weight_decay == 0.05 and main_stage.lr_steps == [80_000]


def test_overrides() -> None:
    cfg = get_preset("cpu-lite")
    apply_override(cfg, "stages.*.lr=2e-4")
    apply_override(cfg, "stages.1.num_frames=4")
    apply_override(cfg, "eval.size=320")
    apply_override(cfg, "model_overrides.hidden_dim=16")
    assert [s.lr for s in cfg.stages] == [2e-4, 2e-4] and cfg.stages[1].num_frames == 4
    assert cfg.eval.size == 320 and cfg.model_overrides["hidden_dim"] == 16
    with pytest.raises(ValueError):
        apply_override(cfg, "stages.0.no_such_field=1")
    with pytest.raises(ValueError):
        from_dict(TrainConfig, {"modle": "xmem"})


def test_stage_scaling() -> None:
    st = StageConfig(iterations=100_000, finetune_iterations=10_000, lr_steps=[80_000], batch_size=8)
    st.rescale(1000)
    assert (st.iterations, st.finetune_iterations, st.lr_steps, st.start_warm, st.end_warm) == (
        1000, 100, [800], 200, 700)
    st.lr_reference_batch, st.batch_size = 8, 2
    assert st.effective_lr() == pytest.approx(1e-5 * 0.5)  # sqrt(2/8)
    st.lr_scaling = "linear"
    assert st.effective_lr() == pytest.approx(1e-5 * 0.25)


def test_cli_resolution(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse_args(["--preset", "cpu-lite", "--batch-size", "8", "--iterations", "50", "--no-eval",
                       "--set", "stages.1.num_frames=6", "--stages", "main"])
    cfg = resolve_config(args)
    assert [s.name for s in cfg.stages] == ["main"] and cfg.eval.root == ""
    st = cfg.stages[0]
    assert (st.batch_size, st.lr_reference_batch, st.iterations) == (8, 2, 50)
    assert main(["--preset", "tiny", "--dump-config"]) == 0
    assert json.loads(capsys.readouterr().out)["model_overrides"]["key_dim"] == 16


def test_validate_rejects_bad_values() -> None:
    for name in PRESETS:
        validate(get_preset(name))  # every preset is valid
    cases = [("worker_start=thread", "worker_start must be one of forkserver, spawn, fork, not 'thread'"),
             ("stages.*.lr_scaling=cube", "stages.0.lr_scaling must be one of"),
             ("stages.1.data.0.kind=vid", "stages.1.data.0.kind must be one of"),
             ("stages.0.batch_size=0", "stages.0.batch_size must be an integer of at least 1, not 0"),
             ("num_workers=-1", "num_workers must be an integer of at least 0"),
             ("threads=1.5", "threads must be an integer")]
    for override, message in cases:
        cfg = get_preset("cpu-lite")
        apply_override(cfg, override)
        with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("*", r"\*")):
            validate(cfg)
    with pytest.raises(ValueError, match="names nothing at '9'"):
        apply_override(get_preset("cpu-lite"), "stages.9.lr=1")


@pytest.mark.parametrize("argv, message", [
    (["--set", "foo=1"], "unknown TrainConfig field 'foo'"),
    (["--set", "stages.9.lr=1"], "names nothing at '9'"),
    (["--set", "worker_start=thread"], "worker_start must be one of"),
    (["--config", "/no/such/config.json"], "No such file or directory"),
])
def test_cli_bad_config_is_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--dump-config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
