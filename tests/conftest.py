"""Suite-wide settings: headless Qt, deterministic and thread-limited torch."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))
