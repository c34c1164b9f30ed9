"""Memory panel: the paper's memory symbols, processing resolution, device, weights file, reset."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
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


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (torch imported lazily, only to answer this)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


class MemoryPanel(QWidget):
    """Edits an `EngineSettings`; emits `settings_changed(EngineSettings)` (validated) and `reset_requested`."""

    settings_changed = Signal(object)
    reset_requested = Signal()

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
        if cuda_available():
            self.device.addItem("CUDA", "cuda")
        self.device.setToolTip("Where the network runs")
        idx = self.device.findData(settings.device)
        self.device.setCurrentIndex(max(0, idx))
        self.device.currentIndexChanged.connect(self._apply)
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
        lay.addStretch(1)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose model weights", "", "PyTorch weights (*.pth *.pt)")
        if path:
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
