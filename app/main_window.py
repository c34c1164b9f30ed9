"""Main window: composes the editor, docks, menus, toolbars and the propagation controller."""

from __future__ import annotations

import gc
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSlider,
    QSpinBox,
    QToolBar,
)

from app import recent
from app.about import APP_NAME, about_text
from app.engine.adapt_job import Learner
from app.engine.controller import PropagationController
from app.engine.plan import Mode
from app.engine.protect import overwrite_warning
from app.maskio import load_mask
from app.project import Project, copy_workspace
from app.qt_runtime import protect_singletons
from app.render import MODE_LABELS, OverlayMode
from app.settings import EngineSettings
from app.timecode import clip_timecode
from app.ui.actions import Actions
from app.ui.dialogs import ask, show_error, show_message
from app.ui.editor import EditorView
from app.ui.empty import dock_placeholder, drop_hint
from app.ui.export_dialog import ExportDialog
from app.ui.focus import ReturnFocus
from app.ui.geometry import fit_to_screen
from app.ui.memory_panel import MemoryPanel
from app.ui.objects_panel import ObjectsPanel
from app.ui.prefs import load_int, save_value
from app.ui.run_feedback import RunFeedback
from app.ui.status import StatusBar

VIDEO_FILTER = "Clips (*.mp4 *.mov *.avi *.mkv *.webm);;All files (*)"


class MainWindow(QMainWindow):
    """One window, one clip at a time. Everything is autosaved into the clip's workspace folder."""

    def __init__(self, project: Project | None = None) -> None:
        protect_singletons()  # before the first Qt call that could under-count None (crash on quit)
        super().__init__()
        self.setWindowTitle(APP_NAME)
        fit_to_screen(self)  # 1400×900 where it fits, less on smaller screens
        self.setAcceptDrops(True)
        self.project: Project | None = None
        self.controller: PropagationController | None = None
        self.learner: Learner | None = None  # "Learn from keyframes" (app/engine/adapt_job.py)
        self.editor: EditorView | None = None
        self.actions = Actions(self)
        self.focus_return = ReturnFocus(lambda: self.editor.canvas if self.editor else None, self)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self._build_menus()
        self._build_toolbars()
        self._connect_actions()
        self.objects_dock = QDockWidget("Objects", self)
        self.objects_dock.setObjectName("objects_dock")
        self.memory_dock = QDockWidget("Memory", self)
        self.memory_dock.setObjectName("memory_dock")
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.objects_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.memory_dock)
        self._show_empty_state()
        self._update_enabled()
        if project is not None:
            self.set_project(project)

    # ---- composition ----
    def _build_menus(self) -> None:
        a = self.actions
        mb = self.menuBar()
        file = mb.addMenu("&File")
        for n in ("open", "open_folder", "open_workspace"):
            file.addAction(a[n])
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        for n in ("save", "save_as", "close_project"):
            file.addAction(a[n])
        file.addSeparator()
        file.addAction(a["import_mask"])
        file.addAction(a["export"])
        file.addSeparator()
        file.addAction(a["quit"])
        edit = mb.addMenu("&Edit")
        for n in ("undo", "redo", None, "add_object", "rename_object", "toggle_object", "lock_object",
                  "delete_object", None,
                  "toggle_keyframe", "clear_frame"):
            edit.addAction(a[n]) if n else edit.addSeparator()
        edit.addSeparator()
        for act in a.select_object:
            edit.addAction(act)
        tools = mb.addMenu("&Tools")
        for act in a.tool_actions.values():
            tools.addAction(act)
        tools.addSeparator()
        tools.addAction(a["brush_smaller"])
        tools.addAction(a["brush_bigger"])
        view = mb.addMenu("&View")
        for act in a.mode_actions.values():
            view.addAction(act)
        view.addSeparator()
        for n in ("opacity_up", "opacity_down", "fit", "one_to_one", "zoom_in", "zoom_out"):
            view.addAction(a[n])
        self.view_menu = view
        nav = mb.addMenu("&Navigate")
        for n in ("play", "prev", "next", "prev10", "next10", "first", "last", "prev_key", "next_key"):
            nav.addAction(a[n])
        prop = mb.addMenu("&Propagate")
        for n in ("prop_forward", "prop_backward", "prop_range", "prop_next", "prop_selected_only", None,
                  "set_in", "set_out",
                  "clear_range", None, "pause", "cancel", "follow_run", None, "reset_memory", "learn"):
            prop.addAction(a[n]) if n else prop.addSeparator()
        helpm = mb.addMenu("&Help")
        helpm.addAction(a["shortcuts"])
        helpm.addAction(a["about"])

    def _build_toolbars(self) -> None:
        a = self.actions
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        for n in ("open", "export", None, "undo", "redo"):
            tb.addAction(a[n]) if n else tb.addSeparator()
        self.addToolBar(tb)
        tools = QToolBar("Tools")
        tools.setObjectName("tools_toolbar")
        for act in a.tool_actions.values():
            tools.addAction(act)
        self.brush_spin = QSpinBox()
        self.brush_spin.setRange(1, 500)
        self.brush_spin.setValue(load_int("brush_size", 20))
        self.brush_spin.setPrefix("⌀ ")
        self.brush_spin.setToolTip("Brush size in source pixels (Shift+wheel, Ctrl+[ / Ctrl+])")
        tools.addWidget(self.brush_spin)
        self.addToolBar(tools)
        view = QToolBar("View")
        view.setObjectName("view_toolbar")
        self.mode_combo = QComboBox()
        for mode, label in MODE_LABELS.items():
            self.mode_combo.addItem(label, mode.value)
        self.mode_combo.setToolTip("Overlay mode (Alt+1…7)")
        view.addWidget(self.mode_combo)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setMaximumWidth(110)
        self.opacity.setToolTip("Overlay opacity (Ctrl+↑ / Ctrl+↓)")
        view.addWidget(self.opacity)
        view.addAction(a["fit"])
        self.addToolBar(view)
        self.opacity.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a slider with focus would keep ← → for itself
        self.focus_return.watch(self.brush_spin, self.mode_combo)
        prop = QToolBar("Propagate")
        prop.setObjectName("propagate_toolbar")
        for n in ("prop_backward", "prop_forward", "prop_next", "prop_range", None, "pause", "cancel"):
            prop.addAction(a[n]) if n else prop.addSeparator()
        self.addToolBar(prop)

    def _connect_actions(self) -> None:
        a = self.actions
        handlers = {
            "open": self.open_dialog, "open_folder": self.open_folder_dialog, "open_workspace": self.open_folder_dialog,
            "import_mask": self.import_mask_dialog, "export": self.export_dialog, "quit": self.close,
            "undo": lambda: self._model_call("undo"), "redo": lambda: self._model_call("redo"),
            "add_object": self.add_object, "delete_object": self.delete_selected_object,
            "rename_object": lambda: self.objects_panel.rename_selected(),
            "toggle_object": lambda: self.objects_panel.toggle_selected(),
            "lock_object": lambda: self.objects_panel.lock_selected(),
            "prop_selected_only": self._set_selected_only,
            "toggle_keyframe": self.toggle_keyframe, "clear_frame": self.clear_frame,
            "brush_smaller": lambda: self.editor.canvas.grow_brush(1 / 1.25),
            "brush_bigger": lambda: self.editor.canvas.grow_brush(1.25),
            "fit": lambda: self.editor.canvas.fit(), "one_to_one": lambda: self.editor.canvas.one_to_one(),
            "zoom_in": lambda: self._zoom(1.25), "zoom_out": lambda: self._zoom(0.8),
            "opacity_up": lambda: self.opacity.setValue(self.opacity.value() + 10),
            "opacity_down": lambda: self.opacity.setValue(self.opacity.value() - 10),
            "play": lambda: self.editor.transport.toggle(),
            "prev": lambda: self.step(-1), "next": lambda: self.step(1),
            "prev10": lambda: self.step(-10), "next10": lambda: self.step(10),
            "first": lambda: self.seek(0), "last": lambda: self.seek(10**9),
            "prev_key": lambda: self._jump_key(-1), "next_key": lambda: self._jump_key(1),
            "prop_forward": lambda: self.propagate(Mode.FORWARD),
            "prop_backward": lambda: self.propagate(Mode.BACKWARD),
            "prop_range": lambda: self.propagate(Mode.RANGE),
            "prop_next": lambda: self.propagate(Mode.NEXT_KEYFRAME),
            "set_in": lambda: self._set_range(True), "set_out": lambda: self._set_range(False),
            "clear_range": lambda: self.project.model.set_in_out(None, None),
            "pause": lambda: self.controller.toggle_pause(),
            "cancel": lambda: (self.controller.cancel(), self.learner.cancel()),
            "reset_memory": lambda: self.controller.reset_memory(),
            "learn": lambda: self.learner.start(self.memory_panel.learn_budget.value()),
            "shortcuts": self.show_shortcuts, "about": self.show_about,
            "save": self.save_project, "save_as": self.save_as_dialog, "close_project": self.close_clip,
        }
        for name, fn in handlers.items():
            a[name].triggered.connect(lambda _checked=False, fn=fn: self._guard(fn))
        a.tools.triggered.connect(lambda act: self.editor and self.editor.canvas.set_tool(act.data()))
        a.modes.triggered.connect(lambda act: self._set_mode(act.data()))
        for act in a.select_object:
            act.triggered.connect(lambda _c=False, i=act.data(): self._select_nth(i))
        self.mode_combo.currentIndexChanged.connect(lambda _i: self._set_mode(self.mode_combo.currentData()))
        self.opacity.valueChanged.connect(lambda v: self.editor and self.editor.canvas.set_opacity(v / 100))
        self.brush_spin.valueChanged.connect(lambda v: self.editor and self.editor.canvas.set_brush_size(v))
        self.brush_spin.valueChanged.connect(lambda v: save_value("brush_size", v))

    def _guard(self, fn) -> None:  # noqa: ANN001
        """Run an action handler; without an open clip, clip actions do nothing."""
        if self.project is None and fn not in (self.open_dialog, self.open_folder_dialog, self.close,
                                               self.show_shortcuts, self.show_about):
            self.status.showMessage("Open a clip first (Ctrl+O).", 4000)
            return
        fn()

    # ---- project ----
    def open_path(self, path: str | Path, workspace: str | Path | None = None) -> bool:
        """Open a clip (video / frame folder) or a workspace folder; errors become dialogs."""
        try:
            project = Project(path, workspace)
        except Exception as exc:  # noqa: BLE001 - any open failure is a dialog
            show_error(self, exc, f"opening {Path(path).name}")
            return False
        self.set_project(project)
        recent.add_recent(project.clip_path)
        recent.remember_folder(project.clip_path.parent)
        return True

    def set_project(self, project: Project) -> None:
        self.close_project()
        replaced = self.editor is not None
        self.project = project
        m = project.model
        self.editor = EditorView(m, timecode=clip_timecode(project.clip_path))
        self.setCentralWidget(self.editor)  # Qt deletes the previous editor (deferred)
        if replaced:  # free its Python side at a quiet moment, not inside some later paint event
            QTimer.singleShot(200, gc.collect)
        self.objects_panel = ObjectsPanel(m.objects)
        self.objects_panel.add_requested.connect(self.add_object)
        self.objects_panel.delete_requested.connect(self.delete_object)
        self.objects_panel.rename_requested.connect(m.rename_object)
        self.objects_panel.color_requested.connect(self.choose_object_color)
        self.objects_dock.setWidget(self.objects_panel)
        self.memory_panel = MemoryPanel(project.settings)
        self.memory_panel.settings_changed.connect(self._settings_changed)
        self.memory_dock.setWidget(self.memory_panel)
        self._watch_fields()
        c = self.controller = PropagationController(project, parent=self)
        c.selected_only = self.actions["prop_selected_only"].isChecked()
        c.running_changed.connect(self._on_running)
        c.progress.connect(self.status.set_progress)
        c.status.connect(lambda s: self.status.showMessage(s, 8000))
        c.error.connect(lambda t, s: show_message(self, t, s))
        c.queued_changed.connect(self.status.set_queued)
        c.device_changed.connect(self.status.set_device)
        c.settings_fell_back.connect(self.apply_settings)
        self.run_feedback = RunFeedback(c, m, self.status, self.actions["follow_run"], self.actions["pause"], c)
        self.memory_panel.reset_requested.connect(c.reset_memory)
        self._connect_learner(Learner(c, self))
        cv = self.editor.canvas
        cv.cursor_info.connect(self.status.cursor.setText)
        cv.zoom_changed.connect(self.status.set_zoom)
        cv.message.connect(lambda s: self.status.showMessage(s, 4000))
        cv.brush_size_changed.connect(self.brush_spin.setValue)
        cv.set_brush_size(self.brush_spin.value())
        cv.set_opacity(self.opacity.value() / 100)
        cv.set_tool(self.actions.tools.checkedAction().data())
        self._set_mode(self.mode_combo.currentData())
        m.history.changed.connect(self._update_enabled)
        m.objects.changed.connect(self._update_object_actions)
        self._update_object_actions()
        self.setWindowTitle(f"{project.clip_path.name} — {APP_NAME}")
        self._update_enabled()
        notes = "; ".join(getattr(project.frames, "notes", []))  # e.g. "header says 12 frames, 3 decode"
        self.status.showMessage(f"Opened {project.clip_path} ({m.n_frames} frames, {m.size[1]}×{m.size[0]}); "
                                + (f"note: {notes}; " if notes else "")
                                + f"workspace {project.workspace.root}", 20000 if notes else 8000)
        cv.setFocus(Qt.FocusReason.OtherFocusReason)  # the keyboard starts on the canvas, not in a tool field

    def _watch_fields(self) -> None:
        """Fields of the editor and the memory panel give the keyboard back to the canvas after Enter / Escape."""
        mp = self.memory_panel
        self.editor.transport.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.focus_return.watch(self.editor.transport.spin, *mp.spins.values(), mp.weights, mp.device)

    def _connect_learner(self, learner: Learner) -> None:
        self.learner = learner
        learner.running_changed.connect(self._on_running)
        learner.progress.connect(self.status.set_learning)
        learner.status.connect(lambda s: self.status.showMessage(s, 8000))
        learner.error.connect(lambda t, s: show_message(self, t, s))
        self.memory_panel.learn_requested.connect(learner.start)

    def close_project(self) -> None:
        if self.learner is not None:
            self.learner.wait()
            self.learner = None
        if self.controller is not None:
            self.run_feedback.dispose()
            self.controller.shutdown()
        if self.project is not None:
            try:
                self.project.close()
            except OSError as exc:
                show_error(self, exc, "saving the project")
        self.project = self.controller = None

    # ---- handlers ----
    def dialog_folder(self) -> str:
        """Where file dialogs start: the folder last used, else the open clip's folder, else the home folder."""
        last = recent.last_folder()
        if last:
            return last
        if self.project is not None:
            return str(self.project.clip_path.parent)
        return str(Path.home())

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open clip", self.dialog_folder(), VIDEO_FILTER)
        if path:
            recent.remember_folder(path)
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open frame folder or workspace", self.dialog_folder())
        if path:
            recent.remember_folder(Path(path).parent)
            self.open_path(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in recent.load_recent() or []:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _c=False, p=p: self.open_path(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def import_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import mask", self.dialog_folder(),
                                              "PNG masks (*.png);;All files (*)")
        if path:
            recent.remember_folder(path)
            self.import_mask(path)

    def import_mask(self, path: str | Path) -> bool:
        m = self.project.model
        try:
            mask = load_mask(path, size=m.size)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, "importing a mask")
            return False
        before = m.objects.snapshot()
        for obj_id in sorted({int(v) for v in set(mask.flat) if v}):
            if obj_id not in m.objects:
                m.objects.add(obj_id=obj_id)
        m.commit_edit(m.current, mask, "Import mask", objects_before=before)
        return True

    def export_dialog(self) -> None:
        dlg = ExportDialog(self.project, self)
        dlg.finished_export.connect(lambda p: self.status.showMessage(f"Exported to {dlg.out.text()}", 8000))
        dlg.preview_changed.connect(lambda pv: self.editor and self.editor.canvas.set_matte_preview(pv))
        self._export_dlg = dlg
        dlg.show()

    def add_object(self) -> None:
        self.project.model.add_object()

    def delete_selected_object(self) -> None:
        sel = self.project.model.objects.selected
        if sel is not None:
            self.delete_object(sel)

    def delete_object(self, obj_id: int) -> None:
        """Delete an object and erase it from every mask, after asking (one undoable step)."""
        m = self.project.model
        o = m.objects.get(obj_id)
        if o is None:
            return
        if self.controller is not None and self.controller.running:
            self.status.showMessage("Cancel the running propagation before deleting an object.", 5000)
            return
        if not ask(self, "Delete object", f"Delete “{o.name}” and erase it from every frame?\n\n"
                       "Undo (Ctrl+Z) brings it back with its masks.", yes="Delete"):
            return
        step = m.delete_object(obj_id)
        self.status.showMessage(f"{step.label}: erased from {len(step.changes)} frames (Ctrl+Z undoes).", 6000)

    def choose_object_color(self, obj_id: int) -> None:
        from PySide6.QtGui import QColor
        from PySide6.QtWidgets import QColorDialog

        o = self.project.model.objects.get(obj_id)
        if o is None:
            return
        c = QColorDialog.getColor(QColor(*o.color), self, f"Colour of {o.name}")
        if c.isValid():
            self.project.model.set_object_color(obj_id, (c.red(), c.green(), c.blue()))

    def toggle_keyframe(self) -> None:
        m = self.project.model
        if m.current in m.masks:
            m.set_keyframe(m.current, not m.is_keyframe(m.current))

    def clear_frame(self) -> None:
        m = self.project.model
        m.commit_edit(m.current, m.masks.get_or_empty(m.current) * 0, "Clear frame")

    def _model_call(self, name: str) -> None:
        step = getattr(self.project.model, name)()
        if step is not None:
            self.status.showMessage(f"{name.capitalize()}: {step.label} ({len(step.changes)} frames)", 4000)

    def step(self, delta: int) -> None:
        self.seek(self.project.model.current + delta)

    def seek(self, frame: int) -> None:
        self.project.model.set_current(frame)

    def _jump_key(self, direction: int) -> None:
        m = self.project.model
        k = m.next_keyframe(m.current, direction)
        if k is not None:
            m.set_current(k)

    def _set_range(self, is_in: bool) -> None:
        m = self.project.model
        note = m.set_in(m.current) if is_in else m.set_out(m.current)
        self.status.showMessage(note, 6000)

    def _zoom(self, factor: float) -> None:
        cv = self.editor.canvas
        cv.zoom_at(factor, cv.rect().center().toPointF())

    def _set_mode(self, mode: str) -> None:
        mode = OverlayMode(mode)
        self.actions.mode_actions[mode].setChecked(True)
        self.mode_combo.blockSignals(True)
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode.value))
        self.mode_combo.blockSignals(False)
        if self.editor:
            self.editor.canvas.set_mode(mode)

    def _select_nth(self, i: int) -> None:
        if self.project:
            ids = self.project.model.objects.ids()
            if i < len(ids):
                self.project.model.objects.select(ids[i])

    def propagate(self, mode: Mode) -> bool:
        """Start a run, after a warning when it would replace other objects' propagated masks."""
        warning = overwrite_warning(self.project.model, mode, self.controller.selected_only)
        if warning and not ask(self, "Replace propagated masks?", warning, "Propagate"):
            self.status.showMessage("Propagation not started.", 4000)
            return False
        return self.controller.propagate(mode)

    def _set_selected_only(self) -> None:
        self.controller.selected_only = self.actions["prop_selected_only"].isChecked()

    def apply_settings(self, settings: EngineSettings) -> None:
        """Replace the engine settings programmatically (scripts, tests) and refresh the memory panel."""
        self.project.settings = settings
        self.memory_panel = MemoryPanel(settings)
        self.memory_panel.settings_changed.connect(self._settings_changed)
        self.memory_panel.reset_requested.connect(self.controller.reset_memory)
        self.memory_panel.learn_requested.connect(self.learner.start)
        self.memory_dock.setWidget(self.memory_panel)
        self._watch_fields()
        self.controller.settings_changed()

    def _settings_changed(self, settings: EngineSettings) -> None:
        self.project.settings = settings
        self.controller.settings_changed()
        self.status.showMessage("Memory settings changed: the next run uses a fresh memory.", 5000)

    def _on_running(self, running: bool) -> None:
        self.status.set_running(running)
        self._update_enabled()

    def _update_enabled(self) -> None:
        a, has = self.actions, self.project is not None
        running = bool(self.controller and self.controller.running) or bool(self.learner and self.learner.running)
        for act in a.all():
            act.setEnabled(has)
        for n in ("open", "open_folder", "open_workspace", "quit", "shortcuts", "about"):
            a[n].setEnabled(True)
        for n in ("pause", "cancel"):
            a[n].setEnabled(running)
        a["follow_run"].setEnabled(has)
        for n in ("prop_forward", "prop_backward", "prop_range", "prop_next", "reset_memory", "learn"):
            a[n].setEnabled(has and not running)
        if has:
            h = self.project.model.history
            a["undo"].setEnabled(h.can_undo())
            a["redo"].setEnabled(h.can_redo())
            a["undo"].setText(f"&Undo {h.undo_label()}".strip())
            a["redo"].setText(f"&Redo {h.redo_label()}".strip())

    def show_shortcuts(self) -> None:
        from app.ui.help import ShortcutsDialog

        self.shortcuts_dialog = ShortcutsDialog(self.actions, self)
        self.shortcuts_dialog.show()

    def about_text(self) -> str:
        return about_text(self.project.settings.weights if self.project else None)

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", self.about_text())

    # ---- project files and empty state ----
    def _show_empty_state(self) -> None:
        self.setCentralWidget(drop_hint())
        self.objects_dock.setWidget(dock_placeholder("Objects you paint are listed here once a clip is open."))
        self.memory_dock.setWidget(dock_placeholder("Memory settings and the engine's device and weights appear "
                                                    "here once a clip is open."))
        self.setWindowTitle(APP_NAME)
        self._update_object_actions()

    def _update_object_actions(self) -> None:
        """Edit ▸ Select object N lists only the objects that exist, by name."""
        objs = list(self.project.model.objects) if self.project is not None else []
        for i, act in enumerate(self.actions.select_object):
            act.setVisible(i < len(objs))
            if i < len(objs):
                act.setText(f"Select {i + 1}: {objs[i].name}")

    def save_project(self) -> None:
        try:
            self.project.save()
            self.project.save_memlog()
        except OSError as exc:
            show_error(self, exc, "saving the project")
            return
        self.status.showMessage(f"Saved to {self.project.workspace.root} (every change is also saved as you go).",
                                5000)

    def save_as_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Save project as (choose an empty folder)")
        if path:
            self.save_as(path)

    def save_as(self, folder: str | Path) -> bool:
        """Copy the workspace to `folder` (new or empty) and continue there."""
        if self.controller is not None and self.controller.running:
            show_message(self, "Cannot save as now", "A propagation is running: wait for it or cancel it first.")
            return False
        try:
            clip, target = self.project.clip_path, copy_workspace(self.project, folder)
        except (OSError, ValueError) as exc:
            show_error(self, exc, "saving the project")
            return False
        ok = self.open_path(clip, target)
        if ok:
            self.status.showMessage(f"Project saved as {target}; you are now working there.", 8000)
        return ok

    def close_clip(self) -> None:
        self.close_project()
        self._show_empty_state()
        self._update_enabled()

    # ---- window events ----
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not urls:
            return
        path = Path(urls[0])
        if path.suffix.lower() == ".png" and self.project is not None:
            self.import_mask(path)
        else:
            self.open_path(path)
        event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.controller is not None and self.controller.running and not ask(
                self, "Quit during propagation?", "A propagation is running. Quitting cancels it; the frames it "
                "has finished are already saved.", "Cancel run and quit"):
            event.ignore()
            return
        self.close_project()
        super().closeEvent(event)
