"""Memory timeline (pyqtgraph): annotation track (keyframes, propagated frames) over memory curves
(working-memory and long-term elements, LT_max line, event markers), aligned with the frame slider."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.model.annotation import AnnotationModel

BG = "#1d1f23"
WM_COLOR = (77, 163, 255)
LT_COLOR = (255, 166, 77)
CAP_COLOR = (255, 90, 90)
KEY_COLOR = (255, 214, 10)
PROP_COLOR = (46, 196, 160)
EVENT_STYLE = {  # kind: (symbol, colour, size, label)
    "insert": ("t1", (120, 200, 255), 6, "memory insertion"),
    "consolidate": ("t", (214, 110, 255), 11, "consolidation"),
    "evict": ("x", (255, 90, 90), 11, "eviction"),
    "reset": ("s", (240, 240, 240), 9, "reset"),
}

AXIS_WIDTH = 58


def runs(frames: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs [(first, length)] of sorted frame numbers (drawn as bands)."""
    out: list[tuple[int, int]] = []
    for f in frames:
        if out and f == out[-1][0] + out[-1][1]:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((f, 1))
    return out


def _fmt(n: float) -> str:
    return f"{int(n):,}".replace(",", " ")


class MemoryTimeline(QWidget):
    """Click or drag to seek; hover shows the frame's memory numbers in the header line."""

    seek = Signal(int)
    span_changed = Signal(int, int)  # left and right margins (px) of the plotted frame axis

    def __init__(self, model: AnnotationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        pg.setConfigOptions(antialias=True)
        self.setToolTip("Memory timeline — yellow diamonds: keyframes · green band: propagated frames\n"
                        "blue: working-memory elements · orange: long-term elements · red dashed: LT_max\n"
                        "▲ consolidation · ✕ eviction · small ticks: memory insertions. Click to seek.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.header = QLabel()
        self.header.setStyleSheet(f"background:{BG}; color:#d8dbe0; padding:3px 8px; font-size:11px;")
        self.header.setTextFormat(pg.QtCore.Qt.TextFormat.RichText)
        lay.addWidget(self.header)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(BG)
        self.glw.ci.setContentsMargins(0, 2, 8, 2)
        self.glw.ci.setSpacing(0)
        lay.addWidget(self.glw)
        self.track = self.glw.addPlot(row=0, col=0)
        self.mem = self.glw.addPlot(row=1, col=0)
        self.glw.ci.layout.setRowStretchFactor(0, 1)
        self.glw.ci.layout.setRowStretchFactor(1, 4)
        self._setup_plots()
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(150)
        self._redraw_timer.timeout.connect(self.redraw)
        model.memlog.changed.connect(self.schedule)
        model.keyframes_changed.connect(self.schedule)
        model.mask_changed.connect(lambda _f: self.schedule())
        model.current_changed.connect(self._on_current)
        model.range_changed.connect(self._draw_range)
        self.setMinimumHeight(150)
        self.redraw()

    # ---- construction ----
    def _setup_plots(self) -> None:
        small = QFont()
        small.setPointSize(8)
        for plot in (self.track, self.mem):
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            ax = plot.getAxis("left")
            ax.setWidth(AXIS_WIDTH)
            ax.setTextPen("#9aa0a6")
            ax.setPen("#3a3d42")
            ax.setStyle(tickFont=small)
            plot.getAxis("bottom").setPen("#3a3d42")
            plot.getAxis("bottom").setTextPen("#9aa0a6")
            plot.getAxis("bottom").setStyle(tickFont=small)
        self.track.hideAxis("bottom")
        self.track.getAxis("left").setTicks([[(0.5, "masks")]])
        self.track.setYRange(0, 1.25, padding=0)
        self.mem.setXLink(self.track)
        self.mem.getAxis("left").setLabel("elements", color="#9aa0a6")
        self.mem.showGrid(x=False, y=True, alpha=0.12)
        self.prop_bars = pg.BarGraphItem(x0=[], width=[], y0=[], height=[],
                                         brush=pg.mkBrush(*PROP_COLOR, 150), pen=pg.mkPen(None))
        self.track.addItem(self.prop_bars)
        self.key_pts = pg.ScatterPlotItem(symbol="d", size=11, brush=pg.mkBrush(*KEY_COLOR),
                                          pen=pg.mkPen(40, 40, 40, 200))
        self.track.addItem(self.key_pts)
        self.range_region = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 22), movable=False,
                                                pen=pg.mkPen(255, 255, 255, 80))
        self.range_region.setZValue(-10)
        self.range_region.hide()
        self.track.addItem(self.range_region)
        self.wm_curve = self.mem.plot([], [], pen=pg.mkPen(*WM_COLOR, width=1.6), fillLevel=0,
                                      brush=pg.mkBrush(*WM_COLOR, 60), name="working memory", stepMode=None)
        self.lt_curve = self.mem.plot([], [], pen=pg.mkPen(*LT_COLOR, width=1.6), fillLevel=0,
                                      brush=pg.mkBrush(*LT_COLOR, 70), name="long-term")
        self.wm_cap = self.mem.plot([], [], pen=pg.mkPen(*WM_COLOR, width=1, style=pg.QtCore.Qt.PenStyle.DotLine))
        self.lt_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(*CAP_COLOR, width=1.2,
                                                             style=pg.QtCore.Qt.PenStyle.DashLine),
                                       label="LT_max {value:.0f}", labelOpts={"color": CAP_COLOR, "position": 0.1})
        self.lt_line.hide()
        self.mem.addItem(self.lt_line)
        self.event_pts = pg.ScatterPlotItem(pxMode=True)
        self.mem.addItem(self.event_pts)
        legend = self.mem.addLegend(offset=(-10, 4), labelTextColor="#c8ccd2", labelTextSize="8pt",
                                    brush=pg.mkBrush(29, 31, 35, 200))
        legend.setColumnCount(2)
        self.cursors = []
        for plot in (self.track, self.mem):
            line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen(255, 255, 255, 220, width=1.5),
                                   hoverPen=pg.mkPen(255, 255, 255, width=3))
            line.sigDragged.connect(self._cursor_dragged)
            plot.addItem(line)
            self.cursors.append(line)
        self.hover_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(255, 255, 255, 60, width=1))
        self.mem.addItem(self.hover_line)
        self.glw.scene().sigMouseMoved.connect(self._on_hover)
        self.glw.scene().sigMouseClicked.connect(self._on_click)
        self.mem.vb.sigResized.connect(self._emit_span)

    # ---- drawing ----
    def schedule(self, *args: object) -> None:
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def redraw(self) -> None:
        m = self.model
        n = max(1, m.n_frames)
        for plot in (self.track, self.mem):
            plot.setXRange(-0.5, n - 0.5, padding=0)
        prop = runs(m.propagated_frames())
        if prop:
            x0 = np.array([r[0] - 0.5 for r in prop], float)
            w = np.array([r[1] for r in prop], float)
            self.prop_bars.setOpts(x0=x0, width=w, y0=np.full(len(prop), 0.2), height=np.full(len(prop), 0.6))
        else:
            self.prop_bars.setOpts(x0=[], width=[], y0=[], height=[])
        ks = sorted(m.keyframes)
        self.key_pts.setData(x=ks, y=[0.5] * len(ks))
        log = m.memlog
        fx, wm = log.series("working_elements")
        _, lt = log.series("long_term_elements")
        cx, cap = log.series("working_capacity")
        self.wm_curve.setData(fx, wm)
        self.lt_curve.setData(fx[: len(lt)], lt)
        self.wm_cap.setData(cx, cap)
        lt_max = log.lt_max
        top = max(1.0, float(wm.max()) if len(wm) else 0.0, float(lt.max()) if len(lt) else 0.0)
        if lt_max:
            self.lt_line.setValue(lt_max)
            self.lt_line.label.setFormat(f"LT_max {_fmt(lt_max)}")
            self.lt_line.show()
            top = max(top, float(lt_max))
        else:
            self.lt_line.hide()
        if len(cap):
            top = max(top, float(cap.max()))
        self.mem.setYRange(0, top * 1.18, padding=0)
        spots = []
        for f, kind, _detail in log.events():
            style = EVENT_STYLE.get(kind)
            if style is None:
                continue
            sym, col, size, _ = style
            y = top * (1.1 if kind != "insert" else 0.02)
            spots.append({"pos": (f, y), "symbol": sym, "size": size, "brush": pg.mkBrush(*col),
                          "pen": pg.mkPen(None) if kind != "evict" else pg.mkPen(*col, width=2)})
        self.event_pts.setData(spots)
        self._draw_range()
        self._on_current(m.current)

    def _draw_range(self) -> None:
        m = self.model
        if m.in_point is None and m.out_point is None:
            self.range_region.hide()
            return
        lo = m.in_point if m.in_point is not None else 0
        hi = m.out_point if m.out_point is not None else m.n_frames - 1
        self.range_region.setRegion((lo - 0.5, hi + 0.5))
        self.range_region.show()

    def _on_current(self, frame: int) -> None:
        for c in self.cursors:
            c.setValue(frame)
        self._update_header(frame, hover=False)

    # ---- interaction ----
    def _frame_at_scene(self, pos) -> int | None:  # noqa: ANN001
        for plot in (self.mem, self.track):
            if plot.vb.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                return int(np.clip(round(x), 0, max(0, self.model.n_frames - 1)))
        return None

    def _on_hover(self, pos) -> None:  # noqa: ANN001
        f = self._frame_at_scene(pos)
        if f is None:
            self.hover_line.hide()
            self._update_header(self.model.current, hover=False)
            return
        self.hover_line.setValue(f)
        self.hover_line.show()
        self._update_header(f, hover=True)

    def _on_click(self, event) -> None:  # noqa: ANN001
        f = self._frame_at_scene(event.scenePos())
        if f is not None:
            self.seek.emit(f)

    def _cursor_dragged(self, line: pg.InfiniteLine) -> None:
        self.seek.emit(int(np.clip(round(line.value()), 0, max(0, self.model.n_frames - 1))))

    def _emit_span(self) -> None:
        r = self.mem.vb.sceneBoundingRect()
        self.span_changed.emit(int(r.left()), int(self.glw.width() - r.right()))

    def frame_text(self, frame: int) -> str:
        """Plain-text summary of one frame (used in the header line)."""
        m = self.model
        kind = "keyframe" if m.is_keyframe(frame) else ("propagated" if frame in m.masks else "no mask")
        parts = [f"Frame {frame}", kind]
        st = m.memlog.get(frame)
        if st and "working_frames" in st:
            parts.append(f"WM {st['working_frames']} frames, {_fmt(st['working_elements'])}"
                         f" / {_fmt(st.get('working_capacity', 0))} el.")
            parts.append(f"LT {_fmt(st['long_term_elements'])} / {_fmt(st.get('long_term_capacity', 0))}")
            parts.append(f"sensory {st.get('sensory_objects', 0)}")
        evs = (st or {}).get("events", [])
        if evs:
            parts.append("events: " + ", ".join(_event_text(e) for e in evs))
        return " · ".join(parts)

    def _update_header(self, frame: int, hover: bool) -> None:
        txt = self.frame_text(frame)
        legend = (f"<span style='color:rgb{KEY_COLOR}'>◆ keyframe</span>&nbsp; "
                  f"<span style='color:rgb{PROP_COLOR}'>▬ propagated</span>&nbsp; "
                  f"<span style='color:rgb{EVENT_STYLE['consolidate'][1]}'>▲ consolidate</span>&nbsp; "
                  f"<span style='color:rgb{EVENT_STYLE['evict'][1]}'>✕ evict</span>")
        who = "<b>hover</b> " if hover else ""
        self.header.setText(f"{who}{txt}&nbsp;&nbsp;&nbsp;<span style='color:#7d838b'>{legend}</span>")


def _event_text(e: dict) -> str:
    d = e.get("detail") or {}
    if e.get("kind") == "consolidate" and d:
        return f"consolidate ({_fmt(d.get('candidates', 0))}→{_fmt(d.get('prototypes', 0))})"
    if e.get("kind") == "evict" and d:
        return f"evict (−{_fmt(d.get('removed', 0))})"
    return str(e.get("kind"))
