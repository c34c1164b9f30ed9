"""Named training presets: the paper's recipe (for `xmem` and `xmem-lite`), `cpu-lite` and `tiny` (tests).

Paper recipe (spec §7.1, the released XMem.pth = stages "03"):
  stage 0 `static`: static images -> 3-frame clips, single-object network, 150K iterations at batch 16, no LR drop;
  stage 3 `main`: DAVIS 2017 ×5 + YouTube-VOS, 8-frame clips, 100K + 10K fine-tune at batch 8, LR ×0.1 at 80K.
Both use AdamW lr 1e-5, weight decay 0.05, 384 px crops, bootstrapped-CE warm-up 20K -> 70K.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from training.config import DataSource, EvalConfig, StageConfig, TrainConfig

SHARED_DATA = str(Path(__file__).resolve().parents[2] / "shared" / "data")


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
    "tiny": tiny,
}


def get_preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return PRESETS[name]()
