"""Every user action as a QAction with text, shortcut, tooltip and icon (menus and toolbars share them)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QWidget

from app.render import MODE_LABELS, OverlayMode
from app.ui.canvas import Tool
from app.ui.icons import icon

# name: (text, shortcut(s), tooltip, icon)
SPECS: dict[str, tuple[str, str | list[str], str, str]] = {
    "open": ("&Open clip…", "Ctrl+O", "Open a video file or a folder of frames", "open"),
    "open_folder": ("Open &frame folder…", "Ctrl+Shift+O", "Open a folder of jpg/png frames", "open"),
    "open_workspace": ("Open &workspace…", "", "Reopen a saved workspace folder", "open"),
    "save": ("&Save", "Ctrl+S", "Write the project now (it is also saved after every change)", ""),
    "save_as": ("Save project &as…", "Ctrl+Shift+S", "Copy the workspace (masks, objects, keyframes) to another "
                "folder and continue there", ""),
    "close_project": ("&Close project", "Ctrl+W", "Save and close the clip", ""),
    "import_mask": ("&Import mask for this frame…", "Ctrl+I", "Load a PNG mask as this frame's keyframe",
                    "import_mask"),
    "export": ("&Export…", "Ctrl+E", "Export masks, mattes, cutouts and videos", "export"),
    "quit": ("&Quit", "Ctrl+Q", "Close the window (everything is already saved)", ""),
    "undo": ("&Undo", "Ctrl+Z", "Undo the last stroke or propagation run", "undo"),
    "redo": ("&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo", "redo"),
    "add_object": ("&Add object", "Ctrl+N", "Add a new object with the next palette colour", ""),
    "rename_object": ("Re&name object", "F2", "Rename the selected object", ""),
    "toggle_object": ("&Hide/show object", "H", "Show or hide the selected object", ""),
    "delete_object": ("&Delete object", "Ctrl+Del", "Delete the selected object and erase it from all masks", ""),
    "lock_object": ("&Lock object", "Ctrl+L", "Lock / unlock the selected object: propagation never writes a "
                    "locked object", ""),
    "toggle_keyframe": ("Toggle &keyframe", "K", "Mark / unmark this frame as a keyframe (unmarked frames may "
                        "be overwritten by propagation)", ""),
    "clear_frame": ("&Clear this frame's mask", "Shift+Del", "Erase every object on this frame", ""),
    "brush_smaller": ("Brush smaller", ["Ctrl+[", "-"], "Smaller brush (Shift+wheel also works)", ""),
    "brush_bigger": ("Brush bigger", ["Ctrl+]", "="], "Bigger brush (Shift+wheel also works)", ""),
    "fit": ("&Fit to window", "F", "Zoom so the whole frame fits", "fit"),
    "one_to_one": ("&1:1 pixels", "Ctrl+1", "Show source pixels at 100%", ""),
    "zoom_in": ("Zoom &in", "Ctrl+=", "Zoom in", ""),
    "zoom_out": ("Zoom &out", "Ctrl+-", "Zoom out", ""),
    "opacity_up": ("Overlay opacity +", "Ctrl+Up", "More opaque overlay", ""),
    "opacity_down": ("Overlay opacity −", "Ctrl+Down", "More transparent overlay", ""),
    "play": ("&Play / pause", "Space", "Play the clip (Space)", ""),
    "prev": ("Previous frame", "Left", "One frame back (←)", ""),
    "next": ("Next frame", "Right", "One frame forward (→)", ""),
    "prev10": ("Back 10 frames", "Shift+Left", "Ten frames back (Shift+←)", ""),
    "next10": ("Forward 10 frames", "Shift+Right", "Ten frames forward (Shift+→)", ""),
    "first": ("First frame", "Home", "Go to the first frame", ""),
    "last": ("Last frame", "End", "Go to the last frame", ""),
    "prev_key": ("Previous keyframe", "Ctrl+Left", "Jump to the previous keyframe", ""),
    "next_key": ("Next keyframe", "Ctrl+Right", "Jump to the next keyframe", ""),
    "prop_forward": ("Propagate &forward", "Ctrl+F", "Propagate from this frame (or the keyframe before it) to "
                     "the end; keyframes met on the way are used as corrections", "propagate_forward"),
    "prop_backward": ("Propagate &backward", "Ctrl+B", "Propagate from this frame back to the start",
                      "propagate_backward"),
    "prop_range": ("Propagate in in/out &range", "Ctrl+R", "Propagate both ways inside the in/out range",
                   "propagate_range"),
    "prop_next": ("Propagate to &next keyframe", "Ctrl+G", "Propagate forward until the next keyframe",
                  "propagate_next"),
    "prop_selected_only": ("&Selected object only", "Ctrl+Shift+F", "Propagation writes only the selected "
                           "object; the others keep their masks", ""),
    "set_in": ("Set &in point", "[", "Start of the propagation range ([)", ""),
    "set_out": ("Set &out point", "]", "End of the propagation range (])", ""),
    "clear_range": ("Clear in/out", "Ctrl+\\", "Use the whole clip", ""),
    "pause": ("&Pause propagation", "P", "Pause or resume the running propagation", "pause"),
    "follow_run": ("Follo&w the run", "Ctrl+Shift+W", "Show each frame as the propagation finishes it", ""),
    "cancel": ("&Cancel propagation", "Esc", "Stop the running propagation (finished frames stay)", "cancel"),
    "reset_memory": ("Reset &memory", "", "Empty the engine's memory; keyframes stay", ""),
    "learn": ("&Learn from keyframes", "Ctrl+Shift+L", "Fine-tune the model on this clip's keyframes (time budget in "
              "the Memory panel); Esc cancels, undo returns to the previous weights", ""),
    "shortcuts": ("&Keyboard shortcuts", "F1", "List every shortcut", ""),
    "about": ("&About", "", "About this application", ""),
}

CHECKABLE = {"prop_selected_only", "pause", "follow_run"}  # pause: the button shows whether the run is paused

TOOL_SPECS = {
    Tool.BRUSH: ("&Brush", "B", "Paint the selected object (right-drag erases)", "brush"),
    Tool.ERASER: ("&Eraser", "E", "Erase the selected object", "eraser"),
    Tool.POLYGON: ("P&olygon / lasso", "L", "Click vertices or drag a lasso; double-click/Enter closes; "
                   "Shift or right-click subtracts", "polygon"),
    Tool.FILL: ("Flood &fill", "G", "Fill the clicked region (holes, enclosed areas) with the object", "fill"),
    Tool.GRABCUT: ("&GrabCut box", "C", "Drag a box around the object for a quick first mask; drag again to "
                   "refine", "grabcut"),
    Tool.PAN: ("&Pan", "V", "Drag to pan (middle-drag or Alt+drag pans with any tool)", "pan"),
}


class Actions:
    """Holds `QAction`s by name (`actions["undo"]`), the tool group and the overlay-mode group."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.by_name: dict[str, QAction] = {}
        for name, (text, keys, tip, ico) in SPECS.items():
            self.by_name[name] = self._make(text, keys, tip, ico, checkable=name in CHECKABLE)
        self.tools = QActionGroup(parent)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool, (text, key, tip, ico) in TOOL_SPECS.items():
            a = self._make(text, key, tip, ico, checkable=True)
            a.setData(tool.value)
            self.tools.addAction(a)
            self.tool_actions[tool] = a
        self.tool_actions[Tool.BRUSH].setChecked(True)
        self.by_name["follow_run"].setChecked(True)  # follow the run: on by default
        self.modes = QActionGroup(parent)
        self.mode_actions: dict[OverlayMode, QAction] = {}
        for i, (mode, label) in enumerate(MODE_LABELS.items()):
            a = self._make(label, f"Alt+{i + 1}", f"Overlay: {label.lower()}", "", checkable=True)
            a.setData(mode.value)
            self.modes.addAction(a)
            self.mode_actions[mode] = a
        self.mode_actions[OverlayMode.BLEND].setChecked(True)
        self.select_object: list[QAction] = []
        for i in range(1, 10):
            a = self._make(f"Select object {i}", str(i), f"Select object number {i} in the list", "")
            a.setVisible(False)  # shown for the objects that exist
            a.setData(i - 1)
            self.select_object.append(a)

    def _make(self, text: str, keys: str | list[str], tip: str, ico: str, checkable: bool = False) -> QAction:
        a = QAction(text, self.parent)
        seqs = [QKeySequence(k) for k in ([keys] if isinstance(keys, str) else keys) if k]
        if seqs:
            a.setShortcuts(seqs)
        shortcut = f" ({seqs[0].toString(QKeySequence.SequenceFormat.NativeText)})" if seqs else ""
        a.setToolTip(f"{tip}{shortcut}")
        a.setStatusTip(tip)
        if ico:
            a.setIcon(icon(ico))
        a.setCheckable(checkable)
        # application-wide: shortcuts work from floating docks and whatever small control had focus last
        a.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.parent.addAction(a)  # shortcuts work even when the action sits only in a menu
        return a

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]

    def all(self) -> list[QAction]:
        return [*self.by_name.values(), *self.tool_actions.values(), *self.mode_actions.values(),
                *self.select_object]
