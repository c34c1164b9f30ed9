"""Export dialog: formats, matte objects and edge controls (previewed on the canvas), frame range, output folder;
runs the export in a thread with progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.engine.tasks import TaskWorker, start_task
from app.export import FORMAT_LABELS, ExportCancelledError, ExportJob, Format, frame_stems, run_export
from app.matte import EdgeSettings
from app.model.masks import MaskStore
from app.project import Project, open_source
from app.timecode import clip_timecode
from app.ui.dialogs import show_error
from app.ui.objects_panel import swatch


def project_stems(project: Project) -> list[str]:
    """Export file stems of the project's frames: folder stems, container timecode, or frame numbers."""
    n = project.model.n_frames
    if project.clip_path.is_dir():
        names = list(getattr(project.frames, "names", []) or [])
        return frame_stems(n, names if len(names) == n else None)
    return frame_stems(n, None, clip_timecode(project.clip_path))


def build_job(project: Project, out_dir: Path, formats: list[Format], frames_mode: str = "all",
              fps: float = 25.0, matte_objects: list[int] | None = None,
              edge: EdgeSettings | None = None) -> ExportJob:
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
                     names={o.obj_id: o.name for o in m.objects}, frames=frames, fps=fps,
                     matte_objects=matte_objects, edge=edge or EdgeSettings(), stems=project_stems(project),
                     n_frames=m.n_frames)


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
    """Modal-less dialog; `finished_export(list_of_paths)` when done; `preview_changed((edge, objects) or None)`
    whenever the matte controls change while "Preview on canvas" is ticked (None: preview off)."""

    finished_export = Signal(list)
    preview_changed = Signal(object)

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
        lay.addWidget(self._matte_group(project))
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

    def _matte_group(self, project: Project) -> QGroupBox:
        box = QGroupBox("Matte (alpha, RGBA and ProRes)")
        form = QFormLayout(box)
        self.matte_list = QListWidget()
        self.matte_list.setToolTip("Objects in the matte; the index-mask formats keep every visible object")
        self.matte_list.setMaximumHeight(90)
        visible = set(project.model.objects.visible_ids())
        for o in project.model.objects:
            item = QListWidgetItem(swatch(o.color), o.name)
            item.setData(Qt.ItemDataRole.UserRole, o.obj_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if o.obj_id in visible else Qt.CheckState.Unchecked)
            self.matte_list.addItem(item)
        form.addRow("Objects", self.matte_list)
        self.grow = QSpinBox()
        self.grow.setRange(-50, 50)
        self.grow.setSuffix(" px")
        self.grow.setToolTip("Grow (positive) or shrink (negative) the matte edge")
        form.addRow("Grow / shrink", self.grow)
        self.feather = QDoubleSpinBox()
        self.feather.setRange(0, 50)
        self.feather.setDecimals(1)
        self.feather.setSuffix(" px")
        self.feather.setToolTip("Soft-edge radius (Gaussian feather)")
        form.addRow("Feather", self.feather)
        self.temporal = QSpinBox()
        self.temporal.setRange(0, 5)
        self.temporal.setSuffix(" each side")
        self.temporal.setSpecialValueText("off")
        self.temporal.setToolTip("Average the matte edge over neighbouring frames to remove boundary flicker")
        form.addRow("Temporal smoothing (frames)", self.temporal)
        self.preview = QCheckBox("Preview on canvas")
        self.preview.setToolTip("Show the matte as a cutout on a checkerboard while this dialog is open")
        form.addRow(self.preview)
        for sig in (self.grow.valueChanged, self.feather.valueChanged, self.temporal.valueChanged,
                    self.preview.toggled):
            sig.connect(lambda *_a: self._emit_preview())
        self.matte_list.itemChanged.connect(lambda _i: self._emit_preview())
        self.finished.connect(lambda _r: self.preview_changed.emit(None))
        return box

    def edge_settings(self) -> EdgeSettings:
        return EdgeSettings(grow=self.grow.value(), feather=self.feather.value(), temporal=self.temporal.value())

    def matte_objects(self) -> list[int]:
        items = (self.matte_list.item(i) for i in range(self.matte_list.count()))
        return [it.data(Qt.ItemDataRole.UserRole) for it in items if it.checkState() == Qt.CheckState.Checked]

    def _emit_preview(self) -> None:
        self.preview_changed.emit((self.edge_settings(), self.matte_objects()) if self.preview.isChecked() else None)

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
        job = build_job(self.project, Path(self.out.text()), fmts, self.frames.currentData(), self.fps.value(),
                        self.matte_objects(), self.edge_settings())
        self.bar.setRange(0, max(1, len(job.frames)))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.worker = export_in_thread(self, self.project, job)
        self.worker.progress.connect(self._progress)  # a bound method: queued to the GUI thread, unlike a lambda
        self.worker.succeeded.connect(self._done)
        self.worker.failed.connect(self._failed)

    def _progress(self, done: int, _total: int) -> None:
        self.bar.setValue(done)

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
