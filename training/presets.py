"""Named training presets: the paper's recipe (for `xmem` and `xmem-lite`), `cpu-lite`, `gpu-lite[-10|-30|-60]` and
`tiny` (tests). `configs/training/*.json` are these presets written by `python -m training.presets`.

Paper recipe (spec §7.1, the released XMem.pth = stages "03"):
  stage 0 `static`: static images -> 3-frame clips, single-object network, 150K iterations at batch 16, no LR drop;
  stage 3 `main`: DAVIS 2017 ×5 + YouTube-VOS, 8-frame clips, 100K + 10K fine-tune at batch 8, LR ×0.1 at 80K.
Both use AdamW lr 1e-5, weight decay 0.05, 384 px crops, bootstrapped-CE warm-up 20K -> 70K.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from training.config import DataSource, EvalConfig, StageConfig, TrainConfig, to_dict

SHARED_DATA = str(Path(__file__).resolve().parents[2] / "shared" / "data")
SHIPPED_WEIGHTS = "resources/weights/xmem-lite.pth"  # relative to the repository root (where training runs)


def _paper_static(root: str) -> StageConfig:
    s = f"{root}/static"
    data = [DataSource(f"{s}/fss", layout="flat"), DataSource(f"{s}/DUTS-TR"), DataSource(f"{s}/DUTS-TE"),
            DataSource(f"{s}/ecssd"), DataSource(f"{s}/BIG_small", repeat=5), DataSource(f"{s}/HRSOD_small", repeat=5)]
    return StageConfig(
        name="static", data=data, single_object=True, iterations=150_000, finetune_iterations=0, batch_size=16,
        lr_steps=[], num_frames=3, num_ref_frames=2, max_objects=1, skip_values=[1], skip_milestones=[],
    )


def _paper_main(root: str) -> StageConfig:
    data = [DataSource(f"{root}/DAVIS/2017/trainval", kind="davis", repeat=5),
            DataSource(f"{root}/YouTube/train_480p", kind="youtube")]
    return StageConfig(name="main", data=data, iterations=100_000, finetune_iterations=10_000, batch_size=8,
                       lr_steps=[80_000])


def paper(root: str = "../data", model: str = "xmem") -> TrainConfig:
    """The paper's s03 recipe; `root` holds static/, DAVIS/2017/trainval and YouTube/train_480p (official layout)."""
    return TrainConfig(model=model, stages=[_paper_static(root), _paper_main(root)], out_dir=f"runs/{model}-paper",
                       eval=EvalConfig(root=f"{SHARED_DATA}/davis16-dev", every=10_000, size=480))


def cpu_lite(root: str = SHARED_DATA) -> TrainConfig:
    """xmem-lite on ../shared/data with 2 CPU cores in about an hour (see training/README.md for the reasoning).

    ~100x fewer iterations than the paper, so the LR is 3x higher (3e-5, with a short warm-up and clipping; 1e-4
    collapsed to p = 0.5 everywhere once the bootstrapped CE reached its hardest-15% phase), crops are 192 px, main
    clips have 5 frames, and DAVIS 2016 gets multi-object samples by pasting. Data loads in the main process and
    torch uses one thread: on a shared 2-core machine a forked loader worker deadlocked after the static stage's
    evaluation, and two torch threads cost 3x more CPU per iteration.
    """
    static = StageConfig(
        name="static", single_object=True, iterations=300, finetune_iterations=0, batch_size=4, lr=3e-5,
        lr_steps=[], warmup_iterations=20, grad_clip=1.0, size=192, num_frames=3, num_ref_frames=2,
        max_objects=1, skip_values=[1], skip_milestones=[], start_warm=40, end_warm=140, max_short=288,
        data=[DataSource(f"{root}/ecssd"), DataSource(f"{root}/davis16-train", layout="davis", every=10)],
    )
    main = StageConfig(
        name="main", iterations=600, finetune_iterations=60, batch_size=2, lr=3e-5, lr_steps=[480],
        warmup_iterations=20, grad_clip=1.0, size=192, num_frames=5, num_ref_frames=3, max_objects=3,
        start_warm=120, end_warm=420, max_short=288,
        data=[DataSource(f"{root}/davis16-train", kind="davis", paste=True)],
    )
    return TrainConfig(
        model="xmem-lite", stages=[static, main], out_dir="runs/cpu-lite", device="cpu", amp=False, num_workers=0,
        threads=1,
        pin_memory=False, prefetch_factor=2, cache_mb=256, log_every=5, save_every=200, checkpoint_every=100,
        eval=EvalConfig(root=f"{root}/davis16-dev", every=200, size=240, max_frames=25),
    )


# Assumed pace of one H100/H200-class GPU for sizing the gpu-lite schedules (iterations/s at batch 16, 384 px):
# the main stage (8 frames) at twice the 1.5 it/s measured before the throughput work, the static stage (3 frames)
# about 2.5x faster. `--time-budget` refits the schedule to the real pace, so a wrong guess costs nothing.
GPU_MAIN_IT_S, GPU_STATIC_IT_S = 3.0, 7.5
GPU_SETUP_S = 120.0  # workers' start, model build, cuDNN autotuning, stage-end evaluations and saves


def gpu_lite(minutes: float = 10, root: str = SHARED_DATA) -> TrainConfig:
    """xmem-lite on ../shared/data on one GPU in `minutes`, continuing from the shipped weights.

    static: ECSSD + every davis16-train frame as a still, 3-frame pseudo-clips at 384 px, one object (the
    multi-object network, "others" channel zero), a fifth of the training time. main: davis16-train clips at 384 px
    x 8 frames with pasting of other clips' and ECSSD objects as distractors, LR drop at 80 %, fine-tune 10 %.
    Batch 16 at lr 6e-5 (the rate of the GPU run that made xmem-lite-gpu1.pth; sqrt-scaled for other batches).
    Evaluation on all of davis16-dev at 480p at stage ends.
    """
    train_s = max(minutes * 60 - GPU_SETUP_S, 60.0)
    n_static = max(50, round(0.2 * train_s * GPU_STATIC_IT_S / 50) * 50)
    n_main = max(100, round(0.8 * train_s * GPU_MAIN_IT_S / 1.1 / 50) * 50)
    static = StageConfig(
        name="static", single_object=False, iterations=n_static, finetune_iterations=0, batch_size=16, lr=6e-5,
        lr_reference_batch=16, lr_steps=[], warmup_iterations=max(10, n_static // 30), grad_clip=1.0, size=384,
        num_frames=3, num_ref_frames=2, max_objects=1, skip_values=[1], skip_milestones=[],
        start_warm=round(0.13 * n_static), end_warm=round(0.47 * n_static), max_short=0,
        data=[DataSource(f"{root}/ecssd"), DataSource(f"{root}/davis16-train", layout="davis", every=1)],
    )
    main = StageConfig(
        name="main", iterations=n_main, finetune_iterations=n_main // 10, batch_size=16, lr=6e-5,
        lr_reference_batch=16, lr_steps=[round(0.8 * n_main)], warmup_iterations=max(10, n_main // 50),
        grad_clip=1.0, size=384, num_frames=8, num_ref_frames=3, max_objects=3, start_warm=round(0.2 * n_main),
        end_warm=round(0.7 * n_main), max_short=0, paste_prob=0.5, paste_image_prob=0.5,
        data=[DataSource(f"{root}/davis16-train", kind="davis", paste=True), DataSource(f"{root}/ecssd", kind="paste")],
    )
    return TrainConfig(
        model="xmem-lite", init_weights=SHIPPED_WEIGHTS, stages=[static, main], out_dir=f"runs/gpu-lite-{minutes:g}",
        device="auto", amp=True, amp_dtype="auto", num_workers=14, pin_memory=True, prefetch_factor=4,
        cache_mb=1600, threads=0, log_every=20, save_every=10**6, checkpoint_every=500, half_weights=True,
        eval=EvalConfig(root=f"{root}/davis16-dev", every=0, size=480, max_frames=0),
    )


def tiny(root: str = SHARED_DATA) -> TrainConfig:
    """A seconds-long smoke configuration with a miniature network (tests, CI)."""
    cfg = cpu_lite(root)
    cfg.model_overrides = {"key_backbone": "efficientnet-lite0", "value_backbone": "efficientnet-lite0",
                           "key_dim": 16, "value_dim": 32, "hidden_dim": 8, "decoder_dims": [32, 16, 16]}
    cfg.imagenet = False
    for st in cfg.stages:
        st.iterations, st.finetune_iterations, st.size, st.batch_size = 2, 1 if st.name == "main" else 0, 64, 2
        st.num_frames, st.lr_steps, st.warmup_iterations, st.max_short = min(st.num_frames, 4), [1], 0, 96
    cfg.num_workers, cfg.cache_mb, cfg.log_every, cfg.out_dir = 0, 16, 1, "runs/tiny"
    cfg.eval = EvalConfig()
    return cfg


PRESETS: dict[str, Callable[[], TrainConfig]] = {
    "paper": lambda: paper(model="xmem"),
    "paper-lite": lambda: paper(model="xmem-lite"),
    "cpu-lite": cpu_lite,
    "gpu-lite": gpu_lite,
    "gpu-lite-10": lambda: gpu_lite(10),
    "gpu-lite-30": lambda: gpu_lite(30),
    "gpu-lite-60": lambda: gpu_lite(60),
    "tiny": tiny,
}
FILE_PRESETS = ("paper", "paper-lite", "cpu-lite", "gpu-lite-10", "gpu-lite-30", "gpu-lite-60")  # configs/training


def get_preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return PRESETS[name]()


def file_dict(name: str) -> dict:
    """Preset `name` as written to configs/training/<name>.json: data paths relative to the repository root."""
    text = json.dumps(to_dict(get_preset(name)), indent=2).replace(SHARED_DATA, "../shared/data")
    return json.loads(text)


def write_config_files(folder: str | Path = "configs/training") -> list[Path]:
    """Write every preset of `FILE_PRESETS` to `folder` (the hand-kept copies are generated, not edited)."""
    out = []
    for name in FILE_PRESETS:
        path = Path(folder) / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(file_dict(name), indent=2) + "\n")
        out.append(path)
    return out


if __name__ == "__main__":  # python -m training.presets [FOLDER]
    for p in write_config_files(*sys.argv[1:2]):
        print(p)
