"""Memory timeline (pyqtgraph), three resizable lanes (a splitter) sharing the frame axis of the slider below:

  masks           keyframes (diamonds) and propagated frames (band)
  working memory  frames held (bars, up to T_max, dotted T_max line), insertions as small ticks under the bars
  long-term       elements (filled curve), consolidations ▼ and evictions ✕; the lane is scaled to what is used,
                  and the dashed LT_max line is drawn when LT_max is within reach of it (else the axis says where)

Each lane is labelled in words; hover shows every number of the frame in the header line; click or drag seeks."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from app.model.annotation import AnnotationModel
from app.model.memlog import MemoryLog
from app.timecode import Timecode

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
LT_TOP = 1.25  # long-term lane: y range as a multiple of its top value ...
LT_EVICT = 1.12  # ... evictions drawn just above the top value, consolidations on the curve
CAP_IN_VIEW = 3.0  # a capacity line (LT_max) is drawn when it is at most this multiple of the largest use
LANE_TITLES = ("masks", "working memory", "long-term memory")
LANE_MIN = (26, 52, 64)  # lane minimum heights (px) while resizing


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


def lane_top(used: float, cap: float | None) -> tuple[float, bool]:
    """Top value of a lane scaled to what is used, and whether the capacity line is in view.

    The lane shows 0..max(used, cap) when the capacity is at most CAP_IN_VIEW × the largest use, so the line is
    near the data; otherwise it shows 0..used and the capacity is named on the axis instead of drawn."""
    used = float(max(used, 0))
    if cap and cap > 0 and (used <= 0 and cap <= 1 or cap <= CAP_IN_VIEW * used):
        return float(max(cap, used)), True
    return float(max(used, 1.0)), False


def _headroom(plot: pg.PlotItem, top: float, bottom: float, title_px: float = 16.0) -> float:
    """Y value for the lane's top so that `top` sits `title_px` pixels under it (room for the lane title); a lane
    under four title heights keeps its data scale and the title is drawn over the data on a translucent band."""
    h = plot.vb.height()
    if h < 4 * title_px:
        return top
    return bottom + (top - bottom) * h / (h - title_px)


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

    def __init__(self, model: AnnotationModel, parent: QWidget | None = None, timecode: Timecode | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.timecode = timecode
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
        hl = QVBoxLayout(head)  # header line, then the legend on its own line (neither sets a minimum width)
        hl.setContentsMargins(8, 3, 8, 3)
        hl.setSpacing(1)
        self.header = QLabel()
        self.header.setStyleSheet("color:#d8dbe0;")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.legend = QLabel(self._legend_html())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setStyleSheet("color:#7d838b;")
        for label in (self.header, self.legend):  # variable text must never set the window's minimum width
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(1)
        hl.addWidget(self.header)
        hl.addWidget(self.legend)
        lay.addWidget(head)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setHandleWidth(5)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStyleSheet(f"QSplitter::handle {{ background:{AXIS_PEN}; }}")
        self.splitter.setToolTip("Drag the lines between lanes to resize them")
        self.views: list[pg.PlotWidget] = []
        for title, min_h in zip(LANE_TITLES, LANE_MIN, strict=True):
            view = pg.PlotWidget(background=BG)
            view.setMinimumHeight(min_h)
            view.getPlotItem().setContentsMargins(0, 2, 8, 2)
            view.setObjectName(title)
            self.splitter.addWidget(view)
            self.views.append(view)
        lay.addWidget(self.splitter, 1)
        self.splitter.setSizes([30, 60, 130])  # the long-term lane also holds the frame axis
        self.track, self.wm, self.lt = (v.getPlotItem() for v in self.views)
        self.lanes = (self.track, self.wm, self.lt)
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
        self.setMinimumHeight(210)
        self.redraw()

    # ---- construction ----
    def _setup_plots(self) -> None:
        small = QFont()
        small.setPointSize(9)
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
        self.lt.setLabel("bottom", "frame", color=TEXT)
        self.lane_titles = []
        for plot, title in zip(self.lanes[1:], LANE_TITLES[1:], strict=True):
            t = pg.TextItem(title, color=(200, 204, 210), anchor=(0, 0), fill=pg.mkBrush(29, 31, 35, 150))
            t.setFont(small)
            t.setZValue(20)
            plot.addItem(t, ignoreBounds=True)
            self.lane_titles.append(t)
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
        for plot, view in zip(self.lanes, self.views, strict=True):
            view.scene().sigMouseMoved.connect(lambda pos, plot=plot: self._on_hover(pos, plot))
            view.scene().sigMouseClicked.connect(lambda ev, plot=plot: self._on_click(ev, plot))
        self.lt.vb.sigResized.connect(self._emit_span)
        for plot in (self.wm, self.lt):
            plot.vb.sigResized.connect(self.schedule)  # lane titles keep their room when lanes are resized

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
        self.wm_top_y = _headroom(self.wm, WM_TOP * wm_top, WM_BOTTOM * wm_top)
        self.wm.setYRange(WM_BOTTOM * wm_top, self.wm_top_y, padding=0)
        unit = "frame" if wm_top == 1 else "frames"
        self.wm.getAxis("left").setTicks([[(0, "0"), (wm_top, f"T_max {wm_top:.0f}" if self.t_max
                                                      else f"{wm_top:.0f} {unit}")]])
        # long-term lane: scaled to what is used; LT_max drawn when it is in reach, else named on the axis
        lx, lt = log.series("long_term_elements")
        self.lt_curve.setData(lx, lt)
        lt_max = log.lt_max
        used = float(lt.max()) if len(lt) else 0.0
        lt_top, cap_in_view = lane_top(used, lt_max)
        self.lt_line.setValue(lt_max or 0)
        self.lt_line.setVisible(bool(lt_max) and cap_in_view)
        self.lt_top_y = _headroom(self.lt, LT_TOP * lt_top, 0.0)
        self.lt.setYRange(0, self.lt_top_y, padding=0)
        ticks = [(0, "0")]
        if cap_in_view and lt_max:
            ticks.append((lt_top, f"LT_max {_compact(lt_max)}"))
        elif used > 0:
            ticks.append((lt_top, f"{_compact(lt_top)} used"))
        self.lt.getAxis("left").setTicks([ticks])
        self.lt_cap_in_view = cap_in_view
        self._place_titles(x_lo, wm_top, lt_top, None if cap_in_view else lt_max)
        # event markers
        self._draw_events(log, wm_top, dict(zip(lx.astype(int).tolist(), lt.tolist(), strict=True)), lt_top)
        self._draw_range()
        self._on_current(m.current)

    def _place_titles(self, x_lo: float, wm_top: float, lt_top: float, cap_above: int | None) -> None:
        """Lane titles in words at the top-left corner of their lanes; an LT_max above the scale is named."""
        wm_t, lt_t = self.lane_titles
        wm_t.setText("working memory · frames held")
        wm_t.setPos(x_lo, self.wm_top_y)
        above = f" (LT_max {_fmt(cap_above)} is above this scale)" if cap_above else ""
        lt_t.setText(f"long-term memory · elements{above}")
        lt_t.setPos(x_lo, self.lt_top_y)

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
    def _frame_at_scene(self, pos, plot) -> int | None:  # noqa: ANN001
        """Frame under scene position `pos` of lane `plot` (each lane has its own scene), or None."""
        if plot.vb.sceneBoundingRect().contains(pos):
            x = plot.vb.mapSceneToView(pos).x()
            return int(np.clip(round(x), 0, max(0, self.model.n_frames - 1)))
        return None

    def leaveEvent(self, event) -> None:  # noqa: ANN001, N802
        for h in self.hover_lines:
            h.hide()
        self._update_header(self.model.current, hover=False)
        super().leaveEvent(event)

    def _on_hover(self, pos, plot) -> None:  # noqa: ANN001
        f = self._frame_at_scene(pos, plot)
        for h in self.hover_lines:
            h.setVisible(f is not None)
            if f is not None:
                h.setValue(f)
        if f is None:
            self._update_header(self.model.current, hover=False)
        else:
            self._update_header(f, hover=True)

    def _on_click(self, event, plot) -> None:  # noqa: ANN001
        f = self._frame_at_scene(event.scenePos(), plot)
        if f is not None:
            self.seek.emit(f)

    def _cursor_dragged(self, line: _Line) -> None:
        self.seek.emit(int(np.clip(round(line.value()), 0, max(0, self.model.n_frames - 1))))

    def _emit_span(self) -> None:
        r = self.lt.vb.sceneBoundingRect()
        self.span_changed.emit(int(r.left()), int(self.views[2].width() - r.right()))

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
        tc = f" ({self.timecode.format(frame)})" if self.timecode is not None else ""
        parts = [f"Frame {frame}{tc}", str(d["kind"])]
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
