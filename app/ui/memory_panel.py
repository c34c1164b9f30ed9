"""Memory panel: the paper's memory symbols, processing resolution, device, weights file, reset."""

from __future__ import annotations

import glob
import os
import sys
import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.paths import default_weights
from app.recent import last_folder, remember_folder
from app.settings import EngineSettings

FIELDS = (  # name, label, min, max, tooltip
    ("r", "r (mem_every)", 1, 100, "A working-memory frame is inserted every r frames"),
    ("T_min", "T_min", 1, 1000, "Working-memory frames kept after consolidation"),
    ("T_max", "T_max", 2, 1000, "Consolidation into long-term memory triggers at T_max frames"),
    ("LT_max", "LT_max", 2, 1_000_000, "Long-term memory capacity (elements); LFU eviction keeps it below"),
    ("P", "P (prototypes)", 1, 10_000, "Prototypes made per consolidation"),
    ("top_k", "top-k", 1, 1000, "k of the top-k softmax in memory reading"),
    ("size", "Processing size", -1, 4320, "Short side the network sees (-1: source resolution)"),
)


_cuda: bool | None = None
LEARN_BUDGET_S = 120  # default time budget of "Learn from keyframes": the best measured on the CPU (docs/ADAPT.md)


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (torch imported lazily, only to answer this; the answer is cached).

    Importing torch takes seconds and a few hundred MiB: the panel asks `cuda_hint()` first and, if that cannot
    tell, runs this in a background thread (`CudaProbe`) so that opening a clip does not wait for it."""
    global _cuda
    if _cuda is None:
        try:
            import torch

            _cuda = bool(torch.cuda.is_available())
        except Exception:  # noqa: BLE001
            _cuda = False
    return _cuda


def cuda_hint() -> bool | None:
    """The answer to `cuda_available()` if it is known without importing torch, else None."""
    if _cuda is not None:
        return _cuda
    if "torch" in sys.modules:
        return cuda_available()
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    driver = glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/proc/driver/nvidia")
    if sys.platform.startswith("linux") and not driver:
        return False  # no NVIDIA driver: torch could not see a device either
    return None


class CudaProbe(QObject):
    """Answers `cuda_available()` from a background thread once per process; `done(bool)` arrives in the GUI thread."""

    done = Signal(bool)
    _instance: CudaProbe | None = None

    @classmethod
    def instance(cls) -> CudaProbe:
        if cls._instance is None:
            cls._instance = cls()
            threading.Thread(target=lambda: cls._instance.done.emit(cuda_available()), name="cuda-probe",
                             daemon=True).start()
        return cls._instance


class MemoryPanel(QWidget):
    """Edits an `EngineSettings`; emits `settings_changed(EngineSettings)` (validated) and `reset_requested`."""

    settings_changed = Signal(object)
    reset_requested = Signal()
    learn_requested = Signal(float)  # time budget in seconds

    def __init__(self, settings: EngineSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        form = QFormLayout()
        self.spins: dict[str, QSpinBox] = {}
        for name, label, lo, hi, tip in FIELDS:
            sb = QSpinBox()
            sb.setRange(lo, hi)
            sb.setValue(int(getattr(settings, name)))
            sb.setToolTip(tip)
            sb.editingFinished.connect(self._apply)
            self.spins[name] = sb
            form.addRow(label, sb)
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        hint = cuda_hint()
        if hint or (hint is None and settings.device == "cuda"):  # unknown yet: keep the saved choice meanwhile
            self.device.addItem("CUDA", "cuda")
        self.device.setToolTip("Where the network runs")
        idx = self.device.findData(settings.device)
        self.device.setCurrentIndex(max(0, idx))
        self.device.currentIndexChanged.connect(self._apply)
        if hint is None:
            CudaProbe.instance().done.connect(self._on_cuda)
        form.addRow("Device", self.device)
        wrow = QHBoxLayout()
        self.weights = QLineEdit(settings.weights or "")
        d = default_weights()
        self.weights.setPlaceholderText(f"default: {d.name}" if d else "no shipped weights — choose a .pth")
        self.weights.setToolTip("Model weights file: empty uses the shipped default (newest .pth in "
                                "resources/weights); or choose your own XMem.pth")
        self.weights.editingFinished.connect(self._apply)
        wrow.addWidget(self.weights)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose a weights file (.pth)")
        browse.clicked.connect(self._browse)
        wrow.addWidget(browse)
        form.addRow("Weights", wrow)
        self.overwrite = QCheckBox("Overwrite keyframes")
        self.overwrite.setToolTip("Let propagation replace frames you painted (normally they are kept)")
        self.overwrite.setChecked(settings.overwrite_keyframes)
        self.overwrite.toggled.connect(self._apply)
        form.addRow("", self.overwrite)
        lay.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color:#ff6b6b")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        reset = QPushButton("Reset memory")
        reset.setToolTip("Empty working and long-term memory; the next run starts fresh from the keyframes")
        reset.clicked.connect(self.reset_requested.emit)
        lay.addWidget(reset)
        lay.addLayout(self._learn_row())
        lay.addStretch(1)

    def _learn_row(self) -> QHBoxLayout:
        """"Learn from keyframes" with its time budget (docs/ADAPT.md)."""
        row = QHBoxLayout()
        self.learn = QPushButton("Learn from keyframes")
        self.learn.setToolTip("Fine-tune the model on this clip's keyframes for up to the time budget (Ctrl+Shift+L); "
                              "memory is reset, undo returns to the previous weights. On davis16-dev (2 min, CPU) it "
                              "helped 4 clips of 5 a lot and hurt one (docs/ADAPT.md): check, undo if worse")
        self.learn.clicked.connect(lambda: self.learn_requested.emit(float(self.learn_budget.value())))
        self.learn_budget = QSpinBox()
        self.learn_budget.setRange(5, 3600)
        self.learn_budget.setValue(LEARN_BUDGET_S)
        self.learn_budget.setSuffix(" s")
        self.learn_budget.setToolTip("Time budget for learning from keyframes")
        row.addWidget(self.learn, 1)
        row.addWidget(self.learn_budget)
        return row

    def _on_cuda(self, available: bool) -> None:
        """The background probe answered: offer CUDA, or withdraw it (without changing the settings)."""
        idx = self.device.findData("cuda")
        self.device.blockSignals(True)
        if available and idx < 0:
            self.device.addItem("CUDA", "cuda")
            if self.settings.device == "cuda":
                self.device.setCurrentIndex(self.device.count() - 1)
        elif not available and idx >= 0:
            self.device.removeItem(idx)
            self.device.setCurrentIndex(0)
        self.device.blockSignals(False)

    def _browse(self) -> None:
        start = str(Path(self.weights.text()).parent) if self.weights.text().strip() else (last_folder() or "")
        path, _ = QFileDialog.getOpenFileName(self, "Choose model weights", start, "PyTorch weights (*.pth *.pt)")
        if path:
            remember_folder(path)
            self.weights.setText(path)
            self._apply()

    def current(self) -> EngineSettings:
        vals = {name: sb.value() for name, sb in self.spins.items()}
        return replace(self.settings, **vals, device=self.device.currentData() or "cpu",
                       weights=self.weights.text().strip() or None, overwrite_keyframes=self.overwrite.isChecked())

    def _apply(self) -> None:
        new = self.current()
        try:
            new.memory_config()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        if new != self.settings:
            self.settings = new
            self.settings_changed.emit(new)
