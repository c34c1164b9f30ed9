"""Export dialog: formats, objects, frame range, output folder; runs the export in a thread with progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.engine.tasks import TaskWorker, start_task
from app.export import FORMAT_LABELS, ExportCancelledError, ExportJob, Format, run_export
from app.model.masks import MaskStore
from app.project import Project, open_source
from app.ui.dialogs import show_error


def build_job(project: Project, out_dir: Path, formats: list[Format], frames_mode: str = "all",
              fps: float = 25.0) -> ExportJob:
    m = project.model
    objs = m.objects.visible_ids()
    if frames_mode == "masked":
        frames = m.masks.frames()
    elif frames_mode == "range":
        lo = m.in_point if m.in_point is not None else 0
        hi = m.out_point if m.out_point is not None else m.n_frames - 1
        frames = list(range(lo, hi + 1))
    else:
        frames = list(range(m.n_frames))
    return ExportJob(out_dir=out_dir, formats=formats, objects=objs,
                     names={o.obj_id: o.name for o in m.objects}, frames=frames, fps=fps)


def export_in_thread(parent: QWidget, project: Project, job: ExportJob) -> TaskWorker:
    """Start the export; the thread opens its own frame source and mask reader (nothing shared with the GUI)."""
    clip, masks_dir, size = project.clip_path, project.workspace.masks_dir, project.model.size

    def fn(progress, cancelled):  # noqa: ANN001, ANN202
        src = open_source(clip)
        store = MaskStore(masks_dir, size, cache_frames=4)
        try:
            return run_export(job, src.__getitem__, store.get, size, progress, cancelled)
        finally:
            src.close()

    worker = TaskWorker(fn)
    parent._export_thread = start_task(parent, worker)  # keep a reference
    return worker


class ExportDialog(QDialog):
    """Modal-less dialog; `finished_export(list_of_paths)` when done."""

    finished_export = Signal(list)

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.setWindowTitle("Export")
        lay = QVBoxLayout(self)
        self.checks: dict[Format, QCheckBox] = {}
        for fmt, label in FORMAT_LABELS.items():
            cb = QCheckBox(label)
            cb.setChecked(fmt in (Format.PALETTE, Format.ALPHA))
            self.checks[fmt] = cb
            lay.addWidget(cb)
        form = QFormLayout()
        row = QHBoxLayout()
        self.out = QLineEdit(str(project.workspace.root / "export"))
        self.out.setToolTip("Output folder")
        row.addWidget(self.out)
        b = QToolButton()
        b.setText("…")
        b.clicked.connect(self._browse)
        row.addWidget(b)
        form.addRow("Folder", row)
        self.frames = QComboBox()
        self.frames.addItem("All frames", "all")
        self.frames.addItem("Frames with masks", "masked")
        self.frames.addItem("In/out range", "range")
        form.addRow("Frames", self.frames)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1, 240)
        self.fps.setValue(float(getattr(project.frames, "fps", 25.0) or 25.0))
        form.addRow("Video fps", self.fps)
        lay.addLayout(form)
        self.bar = QProgressBar()
        lay.addWidget(self.bar)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self._cancel)
        lay.addWidget(self.buttons)
        self.worker: TaskWorker | None = None

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export to", self.out.text())
        if d:
            self.out.setText(d)

    def selected_formats(self) -> list[Format]:
        return [f for f, cb in self.checks.items() if cb.isChecked()]

    def start(self) -> None:
        fmts = self.selected_formats()
        if not fmts or self.worker is not None:
            return
        job = build_job(self.project, Path(self.out.text()), fmts, self.frames.currentData(), self.fps.value())
        self.bar.setRange(0, max(1, len(job.frames)))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.worker = export_in_thread(self, self.project, job)
        self.worker.progress.connect(lambda d, t: self.bar.setValue(d))
        self.worker.succeeded.connect(self._done)
        self.worker.failed.connect(self._failed)

    def _done(self, paths: list) -> None:
        self.worker = None
        self.finished_export.emit([str(p) for p in paths])
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.worker = None
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        if not isinstance(exc, ExportCancelledError):
            show_error(self, exc, "exporting")

    def _cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
        else:
            self.reject()
