"""Memory timeline (pyqtgraph), three lanes sharing the frame axis of the slider below:

  masks           keyframes (diamonds) and propagated frames (band)
  working memory  frames held (bars, 0..T_max, dotted T_max line), insertions as small ticks under the bars
  long-term       elements (filled curve, 0..LT_max, dashed LT_max line), consolidations ▼ and evictions ✕

Hover shows every number of the frame in the header line; click or drag seeks."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.model.annotation import AnnotationModel
from app.model.memlog import MemoryLog

BG = "#1d1f23"
AXIS_PEN = "#3a3d42"
TEXT = "#9aa0a6"
WM_COLOR = (77, 163, 255)
LT_COLOR = (255, 166, 77)
CAP_COLOR = (255, 90, 90)
KEY_COLOR = (255, 214, 10)
PROP_COLOR = (46, 196, 160)
EVENT_STYLE = {  # kind: (symbol, colour, size, label, lane)
    "insert": ("|", (140, 205, 255), 7, "memory insertion", "wm"),
    "consolidate": ("t", (214, 110, 255), 10, "consolidation", "lt"),
    "evict": ("x", (255, 90, 90), 10, "eviction", "lt"),
    "reset": ("s", (240, 240, 240), 8, "memory reset", "wm"),
    "adapt": ("star", (255, 214, 10), 12, "model adapted to the keyframes", "wm"),
}
LEGEND_GLYPH = {"insert": "│", "consolidate": "▼", "evict": "✕", "reset": "■", "adapt": "★"}

AXIS_WIDTH = 66  # room for "LT_max 10k" / "T_max 10" tick labels, level with their lines
WM_TOP = 1.4  # working-memory lane: y range (as a multiple of T_max) ...
WM_BOTTOM = -0.3  # ... with the insertion ticks in the strip under the bars
WM_MARK = 1.2  # resets, drawn above the T_max line
LT_TOP = 1.25  # long-term lane: y range as a multiple of LT_max ...
LT_EVICT = 1.12  # ... evictions drawn just above the LT_max line, consolidations on the curve


def runs(frames: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs [(first, length)] of sorted frame numbers (drawn as bands)."""
    out: list[tuple[int, int]] = []
    for f in frames:
        if out and f == out[-1][0] + out[-1][1]:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((f, 1))
    return out


def value_runs(frames: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge consecutive frames with equal values: (first frame, length, value) arrays, one bar per run."""
    frames = np.asarray(frames, dtype=float)
    values = np.asarray(values, dtype=float)
    if not len(frames):
        return np.zeros(0), np.zeros(0), np.zeros(0)
    new = np.ones(len(frames), dtype=bool)
    new[1:] = (np.diff(frames) != 1) | (np.diff(values) != 0)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(frames))
    return frames[starts], (frames[ends - 1] - frames[starts] + 1), values[starts]


def t_max_frames(log: MemoryLog) -> int | None:
    """T_max in frames, from the latest entry with working memory: capacity × frames / elements."""
    for f in reversed(log.frames()):
        st = log.get(f) or {}
        wf, we, cap = st.get("working_frames") or 0, st.get("working_elements") or 0, st.get("working_capacity") or 0
        if wf > 0 and we > 0 and cap > 0:
            return max(1, round(cap * wf / we))
    return None


def _fmt(n: float) -> str:
    return f"{int(n):,}".replace(",", " ")


def _compact(n: float) -> str:
    """Short axis label: 950, 12k, 1.5k, 2.5M."""
    n = float(n)
    for div, suf in ((1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            v = n / div
            return (f"{v:.1f}".rstrip("0").rstrip(".") if v < 10 else f"{v:.0f}") + suf
    return f"{n:.0f}"


def _rgb(c: tuple[int, int, int]) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


class _Line(pg.InfiniteLine):
    """An InfiniteLine that reports empty bounds once its view box is gone (widget teardown), instead of raising
    inside Qt's C++ `boundingRect` call, which crashed the process."""

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        try:
            return super().boundingRect()
        except AttributeError:  # pyqtgraph's view box weak reference died mid-call
            return QRectF()


class MemoryTimeline(QWidget):
    """Click or drag to seek; hover shows the frame's memory numbers in the header line."""

    seek = Signal(int)
    span_changed = Signal(int, int)  # left and right margins (px) of the plotted frame axis

    def __init__(self, model: AnnotationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.t_max: int | None = None
        pg.setConfigOptions(antialias=True)
        self.setToolTip("Memory timeline — masks: ◆ keyframes, band = propagated frames\n"
                        "working memory: frames held (bars) up to T_max (dotted), │ = memory insertion\n"
                        "long-term: elements (orange) up to LT_max (red dashed), ▼ consolidation, ✕ eviction\n"
                        "Hover for the frame's numbers; click or drag to seek.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        head = QWidget()
        head.setStyleSheet(f"background:{BG}; font-size:11px;")
        hl = QHBoxLayout(head)
        hl.setContentsMargins(8, 3, 8, 3)
        self.header = QLabel()
        self.header.setStyleSheet("color:#d8dbe0;")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.legend = QLabel(self._legend_html())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setStyleSheet("color:#7d838b;")
        hl.addWidget(self.header, 1)
        hl.addWidget(self.legend, 0, Qt.AlignmentFlag.AlignRight)
        lay.addWidget(head)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(BG)
        self.glw.ci.setContentsMargins(0, 2, 8, 2)
        self.glw.ci.setSpacing(3)
        lay.addWidget(self.glw)
        self.track = self.glw.addPlot(row=0, col=0)
        self.wm = self.glw.addPlot(row=1, col=0)
        self.lt = self.glw.addPlot(row=2, col=0)
        self.lanes = (self.track, self.wm, self.lt)
        for row, stretch in enumerate((2, 3, 4)):
            self.glw.ci.layout.setRowStretchFactor(row, stretch)
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
        self.setMinimumHeight(170)
        self.redraw()

    # ---- construction ----
    def _setup_plots(self) -> None:
        small = QFont()
        small.setPointSize(8)
        for plot in self.lanes:
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            ax = plot.getAxis("left")
            ax.setWidth(AXIS_WIDTH)
            ax.setTextPen(TEXT)
            ax.setPen(AXIS_PEN)
            ax.setStyle(tickFont=small, tickLength=-4)
            bottom = plot.getAxis("bottom")
            bottom.setPen(AXIS_PEN)
            bottom.setTextPen(TEXT)
            bottom.setStyle(tickFont=small)
            if plot is not self.lt:
                plot.hideAxis("bottom")
                plot.setXLink(self.lt)
        dotted, dashed = Qt.PenStyle.DotLine, Qt.PenStyle.DashLine
        # masks lane
        self.track.getAxis("left").setTicks([[(0.5, "masks")]])
        self.track.setYRange(0, 1.0, padding=0)
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
        # working-memory lane: frames held, as bars (one per run of equal values)
        self.wm_bars = pg.BarGraphItem(x0=[], width=[], y0=[], height=[], brush=pg.mkBrush(*WM_COLOR, 150),
                                       pen=pg.mkPen(None))
        self.wm.addItem(self.wm_bars)
        self.wm_cap = _Line(angle=0, pen=pg.mkPen(*WM_COLOR, 200, width=1, style=dotted))
        self.wm_cap.hide()
        self.wm.addItem(self.wm_cap)
        # long-term lane: elements as a filled curve under the LT_max line
        self.lt_curve = pg.PlotCurveItem([], [], pen=pg.mkPen(*LT_COLOR, width=1.6), fillLevel=0,
                                         brush=pg.mkBrush(*LT_COLOR, 70))
        self.lt.addItem(self.lt_curve)
        self.lt_line = _Line(angle=0, pen=pg.mkPen(*CAP_COLOR, width=1.2, style=dashed))
        self.lt_line.hide()
        self.lt.addItem(self.lt_line)
        # event markers, one scatter per kind on its lane
        self.event_items: dict[str, pg.ScatterPlotItem] = {}
        for kind, (sym, col, size, _label, lane) in EVENT_STYLE.items():
            pen = pg.mkPen(*col, 170 if kind == "insert" else 255, width=2 if kind == "evict" else 1)
            if kind == "consolidate":
                pen = pg.mkPen(30, 30, 30, 220)
            item = pg.ScatterPlotItem(symbol=sym, size=size, pen=pen, brush=pg.mkBrush(*col), pxMode=True)
            item.setZValue(5)
            (self.wm if lane == "wm" else self.lt).addItem(item)
            self.event_items[kind] = item
        self.cursors = []
        for plot in self.lanes:
            line = _Line(angle=90, movable=True, pen=pg.mkPen(255, 255, 255, 220, width=1.5),
                                   hoverPen=pg.mkPen(255, 255, 255, width=3))
            line.setZValue(10)
            line.sigDragged.connect(self._cursor_dragged)
            plot.addItem(line)
            self.cursors.append(line)
        self.hover_lines = []
        for plot in self.lanes:
            h = _Line(angle=90, pen=pg.mkPen(255, 255, 255, 70, width=1))
            h.hide()
            plot.addItem(h)
            self.hover_lines.append(h)
        self.glw.scene().sigMouseMoved.connect(self._on_hover)
        self.glw.scene().sigMouseClicked.connect(self._on_click)
        self.lt.vb.sigResized.connect(self._emit_span)

    @staticmethod
    def _legend_html() -> str:
        items = [(KEY_COLOR, "◆ keyframe"), (PROP_COLOR, "▬ propagated"), (WM_COLOR, "■ working"),
                 (LT_COLOR, "■ long-term"), (CAP_COLOR, "╌ LT_max")]
        items += [(EVENT_STYLE[k][1], f"{LEGEND_GLYPH[k]} {k}") for k in ("insert", "consolidate", "evict", "reset",
                                                                                "adapt")]
        return "&nbsp; ".join(f"<span style='color:{_rgb(c)}'>{t}</span>" for c, t in items)

    # ---- drawing ----
    def schedule(self, *args: object) -> None:
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def redraw(self) -> None:
        m = self.model
        n = max(1, m.n_frames)
        x_lo, x_hi = -0.5, n - 0.5
        for plot in self.lanes:
            plot.setXRange(x_lo, x_hi, padding=0)
        # masks lane
        prop = runs(m.propagated_frames())
        if prop:
            x0 = np.array([r[0] - 0.5 for r in prop], float)
            w = np.array([r[1] for r in prop], float)
            self.prop_bars.setOpts(x0=x0, width=w, y0=np.full(len(prop), 0.25), height=np.full(len(prop), 0.5))
        else:
            self.prop_bars.setOpts(x0=[], width=[], y0=[], height=[])
        ks = sorted(m.keyframes)
        self.key_pts.setData(x=ks, y=[0.5] * len(ks))
        log = m.memlog
        # working-memory lane
        fx, wf = log.series("working_frames")
        self.t_max = t_max_frames(log)
        wm_top = float(max(self.t_max or 0, wf.max() if len(wf) else 0, 1))
        x0, width, height = value_runs(fx, wf)
        keep = height > 0
        self.wm_bars.setOpts(x0=x0[keep] - 0.5, width=width[keep], y0=np.zeros(int(keep.sum())),
                             height=height[keep])
        if self.t_max:
            self.wm_cap.setValue(self.t_max)
            self.wm_cap.show()
        else:
            self.wm_cap.hide()
        self.wm.setYRange(WM_BOTTOM * wm_top, WM_TOP * wm_top, padding=0)
        self.wm.getAxis("left").setTicks([[(0, "WM 0"), (wm_top, f"T_max {wm_top:.0f}" if self.t_max
                                                              else f"{wm_top:.0f}")]])
        # long-term lane
        lx, lt = log.series("long_term_elements")
        self.lt_curve.setData(lx, lt)
        lt_max = log.lt_max
        lt_top = float(max(lt_max or 0, lt.max() if len(lt) else 0, 1))
        if lt_max:
            self.lt_line.setValue(lt_max)
            self.lt_line.show()
        else:
            self.lt_line.hide()
        self.lt.setYRange(0, LT_TOP * lt_top, padding=0)
        self.lt.getAxis("left").setTicks([[(0, "LT 0"), (lt_top, f"LT_max {_compact(lt_top)}" if lt_max
                                                              else _compact(lt_top))]])
        # event markers
        self._draw_events(log, wm_top, dict(zip(lx.astype(int).tolist(), lt.tolist(), strict=True)), lt_top)
        self._draw_range()
        self._on_current(m.current)

    def _draw_events(self, log: MemoryLog, wm_top: float, lt_at: dict[int, float], lt_top: float) -> None:
        pos: dict[str, list[tuple[float, float]]] = {k: [] for k in EVENT_STYLE}
        for f, kind, _detail in log.events():
            if kind not in pos:
                continue
            if kind == "insert":
                y = WM_BOTTOM * wm_top / 2
            elif kind in ("reset", "adapt"):
                y = WM_MARK * wm_top
            elif kind == "evict":
                y = LT_EVICT * lt_top
            else:  # consolidation: on the long-term curve, where it rose
                y = max(lt_at.get(f, 0.0), 0.06 * lt_top)
            pos[kind].append((f, y))
        for kind, item in self.event_items.items():
            pts = np.array(pos[kind], float).reshape(-1, 2)
            item.setData(x=pts[:, 0], y=pts[:, 1])

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
        for plot in self.lanes:
            if plot.vb.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                return int(np.clip(round(x), 0, max(0, self.model.n_frames - 1)))
        return None

    def _on_hover(self, pos) -> None:  # noqa: ANN001
        f = self._frame_at_scene(pos)
        for h in self.hover_lines:
            h.setVisible(f is not None)
            if f is not None:
                h.setValue(f)
        if f is None:
            self._update_header(self.model.current, hover=False)
        else:
            self._update_header(f, hover=True)

    def _on_click(self, event) -> None:  # noqa: ANN001
        f = self._frame_at_scene(event.scenePos())
        if f is not None:
            self.seek.emit(f)

    def _cursor_dragged(self, line: _Line) -> None:
        self.seek.emit(int(np.clip(round(line.value()), 0, max(0, self.model.n_frames - 1))))

    def _emit_span(self) -> None:
        r = self.lt.vb.sceneBoundingRect()
        self.span_changed.emit(int(r.left()), int(self.glw.width() - r.right()))

    def frame_numbers(self, frame: int) -> dict[str, object]:
        """Everything the timeline knows about one frame (what hover shows)."""
        m = self.model
        kind = "keyframe" if m.is_keyframe(frame) else ("propagated" if frame in m.masks else "no mask")
        out: dict[str, object] = {"frame": frame, "kind": kind}
        st = m.memlog.get(frame) or {}
        for key in ("working_frames", "working_elements", "working_capacity", "long_term_elements",
                    "long_term_capacity", "sensory_objects"):
            if key in st:
                out[key] = st[key]
        if "working_frames" in st and self.t_max:
            out["t_max"] = self.t_max
        out["events"] = list(st.get("events", []))
        return out

    def frame_text(self, frame: int) -> str:
        """Plain-text summary of one frame (used in the header line)."""
        d = self.frame_numbers(frame)
        parts = [f"Frame {frame}", str(d["kind"])]
        if "working_frames" in d:
            t_max = f"/{d['t_max']}" if "t_max" in d else ""
            parts.append(f"WM {d['working_frames']}{t_max} frames ({_fmt(d.get('working_elements', 0))}"
                         f" / {_fmt(d.get('working_capacity', 0))} el.)")
        if "long_term_elements" in d:
            lt, cap = d["long_term_elements"], d.get("long_term_capacity") or 0
            pct = f", {100 * lt / cap:.0f}%" if cap else ""
            parts.append(f"LT {_fmt(lt)} / {_fmt(cap)} el.{pct}")
        if "sensory_objects" in d:
            parts.append(f"sensory {d['sensory_objects']}")
        evs = d["events"]
        if evs:
            parts.append("events: " + ", ".join(_event_text(e) for e in evs))
        return " · ".join(parts)

    def _update_header(self, frame: int, hover: bool) -> None:
        txt = self.frame_text(frame).replace("&", "&amp;").replace("<", "&lt;")
        who = "<span style='color:#7d838b'>hover</span> " if hover else ""
        self.header.setText(f"{who}{txt}")


def _event_text(e: dict) -> str:
    d = e.get("detail") or {}
    if e.get("kind") == "consolidate" and d:
        return f"consolidate ({_fmt(d.get('candidates', 0))}→{_fmt(d.get('prototypes', 0))})"
    if e.get("kind") == "adapt" and d.get("steps"):
        return f"adapted ({d['steps']} steps, {d.get('seconds', 0):.0f} s)"
    if e.get("kind") == "evict" and d:
        return f"evict (−{_fmt(d.get('removed', 0))})"
    return str(e.get("kind"))
