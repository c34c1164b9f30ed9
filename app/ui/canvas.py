"""The frame canvas: zoom/pan, overlay rendering, and the mask editing tools (brush, eraser, polygon/lasso,
flood fill, GrabCut box)."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen, QTransform, QWheelEvent
from PySide6.QtWidgets import QWidget

from app.matte import EdgeSettings, MatteSource
from app.model.annotation import AnnotationModel
from app.render import OverlayMode, composite, matte_cutout
from app.tools import ops


class Tool(StrEnum):
    BRUSH = "brush"
    ERASER = "eraser"
    POLYGON = "polygon"
    FILL = "fill"
    GRABCUT = "grabcut"
    PAN = "pan"


def to_qimage(rgb: np.ndarray) -> QImage:
    """Wrap an H×W×3 uint8 array as a QImage (the array is kept alive by the returned copy)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class Canvas(QWidget):
    """Shows the current frame with its mask and turns mouse input into undoable mask edits."""

    zoom_changed = Signal(float)
    brush_size_changed = Signal(int)
    cursor_info = Signal(str)
    message = Signal(str)

    def __init__(self, model: AnnotationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 200)
        self.setToolTip("Canvas — wheel: zoom · middle/Alt+drag: pan · Shift+wheel or Ctrl+[ ]: brush size\n"
                        "Right-drag with the brush erases")
        self.tool = Tool.BRUSH
        self.brush_size = 20
        self.mode = OverlayMode.BLEND
        self.opacity = 0.5
        self.scale = 1.0
        self.offset = QPointF(0, 0)
        self._fitted = False
        self._qimage: QImage | None = None
        self._key: tuple | None = None
        self._stroke: list[tuple[float, float]] = []
        self._stroke_erase = False
        self._poly: list[tuple[float, float]] = []
        self._box: tuple[QPointF, QPointF] | None = None
        self._pan_from: QPointF | None = None
        self._cursor: QPointF | None = None
        self._dragging = False
        self.matte_preview: tuple[EdgeSettings, tuple[int, ...]] | None = None
        model.current_changed.connect(lambda f: self.refresh())
        model.mask_changed.connect(self._on_mask_changed)
        model.objects.changed.connect(self.refresh)
        model.objects.selected_changed.connect(lambda _i: self.refresh())
        self.refresh()

    # ---- view settings ----
    def set_tool(self, tool: Tool | str) -> None:
        self.tool = Tool(tool)
        self._poly.clear()
        self._box = None
        self.setCursor(Qt.CursorShape.OpenHandCursor if self.tool == Tool.PAN else Qt.CursorShape.CrossCursor)
        self.update()

    def set_mode(self, mode: OverlayMode | str) -> None:
        self.mode = OverlayMode(mode)
        self.refresh()

    def set_matte_preview(self, preview: tuple[EdgeSettings, list[int]] | None) -> None:
        """Show the export matte (edge settings, object ids) as a cutout instead of the overlay; None: off."""
        self.matte_preview = None if preview is None else (preview[0], tuple(preview[1]))
        self.refresh()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(opacity)
        self.refresh()

    def set_brush_size(self, size: int) -> None:
        size = int(np.clip(size, 1, 500))
        if size != self.brush_size:
            self.brush_size = size
            self.brush_size_changed.emit(size)
            self.update()

    def grow_brush(self, factor: float) -> None:
        self.set_brush_size(max(self.brush_size + 1, int(self.brush_size * factor))
                            if factor > 1 else min(self.brush_size - 1, int(self.brush_size * factor)))

    # ---- zoom / pan ----
    def image_size(self) -> tuple[int, int]:
        return self.model.size

    def fit(self) -> None:
        h, w = self.image_size()
        if w == 0 or h == 0 or self.width() < 2:
            return
        self.scale = min(self.width() / w, self.height() / h)
        self.offset = QPointF((self.width() - w * self.scale) / 2, (self.height() - h * self.scale) / 2)
        self._fitted = True
        self.zoom_changed.emit(self.scale)
        self.update()

    def one_to_one(self) -> None:
        self.zoom_at(1.0 / self.scale, QPointF(self.width() / 2, self.height() / 2))

    def zoom_at(self, factor: float, pos: QPointF) -> None:
        new = float(np.clip(self.scale * factor, 0.02, 64.0))
        factor = new / self.scale
        self.offset = pos - (pos - self.offset) * factor
        self.scale = new
        self._fitted = False
        self.zoom_changed.emit(self.scale)
        self.update()

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        p = (pos - self.offset) / self.scale
        return (p.x(), p.y())

    def to_widget(self, x: float, y: float) -> QPointF:
        return QPointF(x, y) * self.scale + self.offset

    # ---- rendering ----
    def _on_mask_changed(self, frame: int) -> None:
        if frame == self.model.current:
            self.refresh()

    def refresh(self) -> None:
        m = self.model
        if m.n_frames == 0:
            return
        f = m.current
        objs = m.objects
        key = (f, m.masks.version(f), f in m.masks, self.mode, round(self.opacity, 3), tuple(objs.visible_ids()),
               objs.selected, self.matte_preview, self._neighbour_versions(f))
        if key != self._key:
            if self.matte_preview is not None:
                edge, ids = self.matte_preview
                alpha = MatteSource(m.mask, m.size, m.n_frames, ids, edge).alpha(f)
                rgb = matte_cutout(m.frame_image(f), alpha, green=self.mode == OverlayMode.GREEN)
            else:
                rgb = composite(m.frame_image(f), m.mask(f), self.mode, self.opacity, objs.visible_ids(),
                                objs.selected)
            self._qimage = to_qimage(rgb)
            self._key = key
        self.update()

    def _neighbour_versions(self, frame: int) -> tuple[int, ...]:
        """Mask versions of the frames a temporally smoothed preview reads (empty without smoothing)."""
        k = self.matte_preview[0].temporal if self.matte_preview is not None else 0
        return tuple(self.model.masks.version(g) for g in range(frame - k, frame + k + 1)) if k else ()

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        if self._fitted or self.scale == 1.0 and self.offset == QPointF(0, 0):
            self.fit()
        super().resizeEvent(event)

    def showEvent(self, event) -> None:  # noqa: ANN001, N802
        if not self._fitted:
            self.fit()
        super().showEvent(event)

    def paintEvent(self, event) -> None:  # noqa: ANN001, N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(34, 36, 40))
        if self._qimage is None:
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale < 1.0)
        p.setTransform(QTransform(self.scale, 0, 0, self.scale, self.offset.x(), self.offset.y()))
        p.drawImage(0, 0, self._qimage)
        color = QColor(*self._obj_color())
        if self._stroke:
            c = QColor(255, 255, 255, 140) if self._stroke_erase else QColor(color.red(), color.green(),
                                                                               color.blue(), 160)
            pen = QPen(c, self.brush_size, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                       Qt.PenJoinStyle.RoundJoin)
            p.setPen(pen)
            path = QPainterPath(QPointF(*self._stroke[0]))
            for pt in self._stroke[1:]:
                path.lineTo(QPointF(*pt))
            if len(self._stroke) == 1:
                path.lineTo(QPointF(self._stroke[0][0] + 0.01, self._stroke[0][1]))
            p.drawPath(path)
        p.resetTransform()
        if self._poly:
            pen = QPen(color, 2)
            p.setPen(pen)
            pts = [self.to_widget(*pt) for pt in self._poly]
            for a, b in zip(pts, pts[1:], strict=False):
                p.drawLine(a, b)
            if self._cursor is not None:
                pen.setStyle(Qt.PenStyle.DashLine)
                p.setPen(pen)
                p.drawLine(pts[-1], self._cursor)
            p.setBrush(color)
            for q in pts[:1]:
                p.drawEllipse(q, 4, 4)
        if self._box is not None:
            p.setPen(QPen(QColor(255, 255, 0), 1.5, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(self._box[0], self._box[1]).normalized())
        if self._cursor is not None and self.tool in (Tool.BRUSH, Tool.ERASER):
            r = self.brush_size * self.scale / 2
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 200), 3))
            p.drawEllipse(self._cursor, r, r)
            p.setPen(QPen(QColor(255, 255, 255) if self.tool == Tool.ERASER else color, 1.5))
            p.drawEllipse(self._cursor, r, r)
        p.end()

    def _obj_color(self) -> tuple[int, int, int]:
        sel = self.model.objects.selected
        o = self.model.objects.get(sel) if sel is not None else None
        return o.color if o is not None else (255, 255, 255)

    # ---- input ----
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            return
        mods = event.modifiers()
        if mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier):
            self.grow_brush(1.15 if delta > 0 else 1 / 1.15)
        else:
            self.zoom_at(1.2 ** (delta / 120), event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        btn = event.button()
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if btn == Qt.MouseButton.MiddleButton or (btn == Qt.MouseButton.LeftButton and (alt or self.tool == Tool.PAN)):
            self._pan_from = pos
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if self.model.objects.selected is None:
            self.message.emit("Add an object first (Objects panel, Ctrl+N).")
            return
        x, y = self.to_image(pos)
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if self.tool in (Tool.BRUSH, Tool.ERASER) and btn in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._stroke = [(x, y)]
            self._stroke_erase = self.tool == Tool.ERASER or btn == Qt.MouseButton.RightButton
            self.update()
        elif self.tool == Tool.POLYGON:
            if btn == Qt.MouseButton.RightButton:
                self._finish_polygon(erase=True)
                return
            if len(self._poly) >= 3 and _near(self.to_widget(*self._poly[0]), pos, 8):
                self._finish_polygon(erase=shift)
                return
            self._poly.append((x, y))
            self._dragging = True
            self.update()
        elif self.tool == Tool.FILL and btn == Qt.MouseButton.LeftButton:
            self._commit(ops.flood_fill(self._current_mask(), (x, y), self.model.objects.selected), "Fill")
        elif self.tool == Tool.GRABCUT and btn == Qt.MouseButton.LeftButton:
            self._box = (pos, pos)
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self._cursor = pos
        if self._pan_from is not None:
            self.offset += pos - self._pan_from
            self._pan_from = pos
            self.update()
            return
        x, y = self.to_image(pos)
        if self._stroke:
            self._stroke.append((x, y))
        elif self.tool == Tool.POLYGON and self._dragging and event.buttons() & Qt.MouseButton.LeftButton:
            last = self.to_widget(*self._poly[-1])
            if not _near(last, pos, 4):
                self._poly.append((x, y))  # lasso: freehand points while dragging
        elif self._box is not None:
            self._box = (self._box[0], pos)
        self._emit_cursor_info(x, y)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None:
            self._pan_from = None
            self.setCursor(Qt.CursorShape.OpenHandCursor if self.tool == Tool.PAN else Qt.CursorShape.CrossCursor)
            return
        self._dragging = False
        if self._stroke:
            pts, erase = self._stroke, self._stroke_erase
            self._stroke = []
            layer = ops.stroke_layer(self.model.size, pts, self.brush_size)
            new = ops.apply_layer(self._current_mask(), layer, self.model.objects.selected, erase=erase)
            self._commit(new, "Erase" if erase else "Brush")
        elif self.tool == Tool.POLYGON and len(self._poly) > 12:
            self._finish_polygon(erase=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        elif self._box is not None:
            a, b = self._box
            self._box = None
            x0, y0 = self.to_image(a)
            x1, y1 = self.to_image(b)
            m = self.model
            self.message.emit("GrabCut…")
            new = ops.grabcut(m.frame_image(m.current), self._current_mask(), (x0, y0, x1, y1), m.objects.selected)
            self._commit(new, "GrabCut")
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.tool == Tool.POLYGON:
            self._finish_polygon(erase=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if self.tool == Tool.POLYGON and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish_polygon(erase=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        elif event.key() == Qt.Key.Key_Escape:
            self._poly.clear()
            self._box = None
            self._stroke = []
            self.update()
        else:
            super().keyPressEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: ANN001, N802
        self._cursor = None
        self.update()

    # ---- editing ----
    def _current_mask(self) -> np.ndarray:
        return self.model.masks.get_or_empty(self.model.current)

    def _finish_polygon(self, erase: bool = False) -> None:
        pts, self._poly = self._poly, []
        self._dragging = False
        if len(pts) >= 3:
            layer = ops.polygon_layer(self.model.size, pts)
            new = ops.apply_layer(self._current_mask(), layer, self.model.objects.selected, erase=erase)
            self._commit(new, "Polygon cut" if erase else "Polygon")
        self.update()

    def _commit(self, mask: np.ndarray, label: str) -> None:
        try:
            self.model.commit_edit(self.model.current, mask, label)
        except OSError as exc:
            from app.ui.dialogs import show_error

            show_error(self, exc, "saving the mask")

    def _emit_cursor_info(self, x: float, y: float) -> None:
        h, w = self.model.size
        if 0 <= x < w and 0 <= y < h:
            m = self.model.mask(self.model.current)
            label = int(m[int(y), int(x)]) if m is not None else 0
            obj = self.model.objects.get(label)
            name = obj.name if obj else ("background" if label == 0 else f"id {label}")
            self.cursor_info.emit(f"x {int(x)}, y {int(y)} · {name}")


def _near(a: QPointF, b: QPointF, dist: float) -> bool:
    d = a - b
    return d.x() * d.x() + d.y() * d.y() <= dist * dist
