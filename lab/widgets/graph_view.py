"""The engine graph of the current model, drawn as a learner would sketch it: inputs on the
left, the loss on the right, an arrow from each input to the operation that reads it.

Placeholders are pills, variables rectangles, constants small rounded boxes and operations
ellipses, each kind in its own colour (a light and a dark set, following the palette). A
node shows its name and output shape, and on request extra lines (values or gradients).
A step-through stage lights up the nodes it has visited, marks the one being explained and
writes what passes along edges at their middles.

Everything is made of Qt's own graphics items (paths and simple texts) that Qt paints in
C++; updates only change their texts, pens and positions. A paint therefore runs no Python,
so it never waits for the GIL the training thread holds. Node positions come from
lab.core.graph_layout in grid units; this view turns them into pixels from the nodes' sizes,
so nothing overlaps whatever the labels say.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPolygonF,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from lab.core.graph_layout import layout
from lab.core.graph_outline import GraphOutline, OutlineNode
from lab.export import write_svg

ZOOM_RANGE = (0.2, 5.0)  # the wheel and keys zoom within this (and out to a fit, if smaller)
FIT_MAX = 1.5  # a fit never blows a small graph up further than this
WHEEL_STEP = 1.0015  # zoom factor per eighth of a degree of wheel: 1.2 a notch
KEY_STEP = 1.25
PNG_SCALE = 2  # exported pixels per scene unit
STAGE_ROLES = ("forward", "backward", "update")

_GAP_X = 44  # pixels between the widest nodes of neighbouring columns: room for arrows
_GAP_Y = 22  # pixels between nodes of one column
_MARGIN = 24  # around the drawing
_PAD_X, _PAD_Y = 10, 5  # inside a box, around its text
_ARROW_LENGTH, _ARROW_WIDTH = 9.0, 4.5
_PASS_MARGIN = 8  # an edge crossing a column passes its nodes this far off
_GROUP_PAD = 10
_SIZE_STEP = 4  # node sizes are rounded up to this, so small text changes keep them

_Z_GROUP, _Z_GLOW, _Z_EDGE, _Z_NODE, _Z_SELECTION, _Z_EDGE_LABEL = -20, -15, -10, 0, 1, 20
_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


@dataclass(frozen=True)
class _Look:
    """The colours of one theme."""

    fills: dict[str, QColor]  # per node kind
    borders: dict[str, QColor]
    roles: dict[str, QColor]  # stage highlight per colour role: borders and arrows
    tints: dict[str, QColor]  # stage highlight: the fill of the current node


def _colors(spec: dict[str, str]) -> dict[str, QColor]:
    return {key: QColor(value) for key, value in spec.items()}


# Kind colours away from the stage's blue, orange and green; text stays readable on each
# fill in its palette's text colour (dark text on the light set, light text on the dark).
_LIGHT = _Look(
    fills=_colors({"placeholder": "#E1D5F5", "variable": "#FCE9A8",
                   "constant": "#E2E2E2", "operation": "#D3EAF2"}),
    borders=_colors({"placeholder": "#6A51A3", "variable": "#A67C00",
                     "constant": "#6E6E6E", "operation": "#3F7F99"}),
    roles=_colors({"forward": "#1565C0", "backward": "#D84315", "update": "#2E7D32"}),
    tints=_colors({"forward": "#BBDEFB", "backward": "#FFD3B8", "update": "#C8E6C9"}),
)
_DARK = _Look(
    fills=_colors({"placeholder": "#46386A", "variable": "#5A4710",
                   "constant": "#474747", "operation": "#1E4A5C"}),
    borders=_colors({"placeholder": "#B9A5E6", "variable": "#E3BE55",
                     "constant": "#A8A8A8", "operation": "#7EC3DD"}),
    roles=_colors({"forward": "#64B5F6", "backward": "#FF9E66", "update": "#7BD67F"}),
    tints=_colors({"forward": "#0D3F75", "backward": "#72300B", "update": "#1D5221"}),
)


def looks(palette: QPalette) -> _Look:
    """The dark set when the palette's text is lighter than its base, else the light one."""
    base = palette.color(QPalette.ColorRole.Base)
    dark = base.lightness() < palette.color(QPalette.ColorRole.Text).lightness()
    return _DARK if dark else _LIGHT


def _blend(start: QColor, end: QColor, share: float) -> QColor:
    pairs = zip(start.getRgbF()[:3], end.getRgbF()[:3], strict=True)
    return QColor.fromRgbF(*(a + share * (b - a) for a, b in pairs))


def shape_text(shape: tuple[int, ...] | None) -> str:
    """(2, 8) -> "2×8", () -> "scalar", None -> "" (unknown)."""
    if shape is None:
        return ""
    return "×".join(str(n) for n in shape) or "scalar"


def _outline_path(kind: str, width: float, height: float) -> QPainterPath:
    """A node's outline of this size, centred on (0, 0)."""
    path = QPainterPath()
    rect = QRectF(-width / 2, -height / 2, width, height)
    if kind == "operation":
        path.addEllipse(rect)
    elif kind == "placeholder":
        path.addRoundedRect(rect, height / 2, height / 2)  # a pill
    elif kind == "constant":
        path.addRoundedRect(rect, 5, 5)
    else:
        path.addRect(rect)
    return path


def _point_at_x(path: QPainterPath, x: float) -> QPointF:
    """The point of a left-to-right path where it crosses x (its end points beyond)."""
    low, high = 0.0, 1.0
    for _ in range(24):
        middle = (low + high) / 2
        if path.pointAtPercent(middle).x() < x:
            low = middle
        else:
            high = middle
    return path.pointAtPercent((low + high) / 2)


def _round_up(value: float) -> float:
    return math.ceil(value / _SIZE_STEP) * _SIZE_STEP


@dataclass
class _Node:
    """One node's items: its outline with the texts on it."""

    info: OutlineNode
    box: QGraphicsPathItem
    title: QGraphicsSimpleTextItem
    shape: QGraphicsSimpleTextItem
    extra: QGraphicsSimpleTextItem
    size: tuple[float, float] = (0.0, 0.0)
    column: int = 0
    grid: tuple[float, float] = (0.0, 0.0)


@dataclass
class _Edge:
    source: str
    consumer: str
    line: QGraphicsPathItem
    head: QGraphicsPolygonItem
    label: QGraphicsPathItem | None = None  # the stage's text on a rounded background
    words: QGraphicsSimpleTextItem | None = None  # that text
    text: str | None = None


@dataclass
class _Stage:
    lit: set[str] = field(default_factory=set)
    current: str | None = None
    role: str = "forward"
    edge_labels: dict[tuple[str, str], str] = field(default_factory=dict)


class GraphView(QGraphicsView):
    """The engine graph of an outline: nodes, arrows, groups; zoom, pan, select, export.

    A click on a node selects it; a click on empty space starts a pan and keeps the
    selection, so an inspector beside the view keeps showing the node. nodeSelected carries
    the selected node's name, or "" when select(None) clears the selection.
    """

    nodeSelected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graphView")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._outline: GraphOutline | None = None
        self._nodes: dict[str, _Node] = {}
        self._edges: list[_Edge] = []
        self._groups: list[tuple[QGraphicsPathItem, QGraphicsSimpleTextItem, tuple[str, ...]]]
        self._groups = []
        self._labels: dict[str, str] = {}
        self._selected: str | None = None
        self._stage = _Stage()
        self._edge_room = 0.0  # column gap wanted for the texts on edges, while a stage shows
        self._centres: list[float] = []  # each column's middle and half width
        self._half: list[float] = []
        self._auto_fit = True  # until the user zooms: fit on resize and show
        self._look = looks(self.palette())
        self._selection = QGraphicsPathItem()
        self._selection.setZValue(_Z_SELECTION)
        self._glow = QGraphicsPathItem()
        self._glow.setZValue(_Z_GLOW)
        self._glow.setPen(QPen(Qt.PenStyle.NoPen))
        self._keep_helpers()
        self._apply_palette()

    # --- the outline -------------------------------------------------------------------

    def show_outline(self, outline: GraphOutline) -> None:
        """Draw this outline. The same graph again keeps the items, selection and zoom (new
        shapes, e.g. for another number of points, are written in place); another graph is
        drawn afresh and fitted into the view, keeping the selection if its node remains."""
        if outline == self._outline:
            return
        if self._outline is not None and _structure(outline) == _structure(self._outline):
            self._outline = outline
            changed = []
            for info in outline.nodes:
                node = self._nodes[info.name]
                node.info = info
                if node.shape.text() != shape_text(info.shape):
                    node.shape.setText(shape_text(info.shape))
                    node.box.setToolTip(_tool_tip(info))
                    changed.append(info.name)
            if changed:
                self._resize_nodes(changed)
            return
        self._build(outline)

    def clear(self) -> None:
        """Show no graph (no model)."""
        self._empty_scene()
        self._outline = None
        self._labels = {}
        self._selected = None
        self._scene.setSceneRect(QRectF())

    def node_names(self) -> list[str]:
        """The nodes drawn, in the outline's (evaluation) order."""
        return list(self._nodes)

    def node_item(self, name: str) -> QGraphicsPathItem:
        """The item drawing a node's outline (its texts are its children)."""
        return self._nodes[name].box

    def node_scene_rect(self, name: str) -> QRectF:
        """Where a node's outline is, in scene coordinates."""
        box = self._nodes[name].box
        return box.mapRectToScene(box.path().boundingRect())

    def node_text(self, name: str) -> str:
        """Everything written on a node, one line each: name, shape (if known), labels."""
        node = self._nodes[name]
        parts = [node.title.text(), node.shape.text(), node.extra.text()]
        return "\n".join(part for part in parts if part)

    # --- labels --------------------------------------------------------------------------

    def set_labels(self, labels: Mapping[str, str]) -> None:
        """Extra lines under the nodes' names (values, gradients), replacing the last ones:
        a node not in `labels` has none, so {} removes them all. Names not drawn are left
        out. Texts change in place; the drawing spreads out only if a node outgrows its
        place, and while labels show, nodes keep their largest size so that it stays put."""
        wanted = {name: str(text) for name, text in labels.items() if name in self._nodes}
        if wanted == self._labels:
            return
        changed = []
        for name, node in self._nodes.items():
            text = wanted.get(name, "")
            if node.extra.text() != text:
                node.extra.setText(text)
                changed.append(name)
        self._labels = wanted
        if wanted:
            self._resize_nodes(changed)
        else:
            self._resize_nodes(shrink=True)

    # --- selection -----------------------------------------------------------------------

    def select(self, name: str | None) -> None:
        """Select a node (None: none) as a click would, and say so with nodeSelected (the
        name, or "" for none). KeyError for a name not drawn."""
        if name is not None and name not in self._nodes:
            raise KeyError(name)
        self._selected = name
        self._place_selection()
        self.nodeSelected.emit(name or "")

    def selected(self) -> str | None:
        return self._selected

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            name = self._node_at(event.position().toPoint())
            if name is not None:
                self.select(name)
                event.accept()
                return
        super().mousePressEvent(event)  # empty space: a hand-drag pan

    # --- the step-through stage ----------------------------------------------------------

    def show_stage(
        self,
        lit: Collection[str],
        current: str | None,
        edge_labels: Mapping[tuple[str, str], str],
        colour_role: str,
    ) -> None:
        """Highlight a stage of a step: the nodes visited (`lit`), the one being explained
        (`current`, scrolled into view) and texts at the middle of edges, keyed (input,
        consumer), in the colour of `colour_role` ("forward", "backward" or "update").
        Names and edges not drawn are left out."""
        if colour_role not in STAGE_ROLES:
            raise ValueError(f"unknown colour role {colour_role!r}; use one of {STAGE_ROLES}")
        self._stage = _Stage(
            lit={name for name in lit if name in self._nodes},
            current=current if current in self._nodes else None,
            role=colour_role,
            edge_labels={
                key: str(text) for key, text in edge_labels.items()
                if any((edge.source, edge.consumer) == key for edge in self._edges)
            },
        )
        metrics = QFontMetricsF(self._fonts()[2])
        widest = max(
            (metrics.horizontalAdvance(line)
             for text in self._stage.edge_labels.values() for line in text.splitlines()),
            default=0.0,
        )
        room = widest + 8 + 2 * _ARROW_LENGTH + 12 if widest else 0.0
        if room > self._edge_room:  # spread the columns so that edge texts fit between
            self._edge_room = room
            self._place()
        else:
            self._apply_stage()
        if self._stage.current is not None:
            self.ensureVisible(self._nodes[self._stage.current].box, 40, 40)

    def clear_stage(self) -> None:
        """No stage highlight and no edge texts; columns spread for them close up again."""
        self._stage = _Stage()
        if self._edge_room:
            self._edge_room = 0.0
            self._place()
        else:
            self._apply_stage()

    def stage_of(self, name: str) -> str:
        """ "current", "lit" or "" for a node, as the stage shows it."""
        if name == self._stage.current:
            return "current"
        return "lit" if name in self._stage.lit else ""

    def edge_label(self, source: str, consumer: str) -> str | None:
        """The stage's text on the edge from `source` into `consumer`, if any."""
        for edge in self._edges:
            if (edge.source, edge.consumer) == (source, consumer):
                return edge.text
        return None

    # --- zoom and pan ---------------------------------------------------------------------

    def zoom(self) -> float:
        """Screen pixels per scene unit."""
        return self.transform().m11()

    def fit(self) -> None:
        """The whole graph in view, keeping its aspect (never larger than FIT_MAX); resizes
        refit until the user zooms."""
        self._auto_fit = True
        rect = self._scene.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > FIT_MAX:
            self._scale_to(FIT_MAX)
        self.centerOn(rect.center())

    def zoom_by(self, factor: float) -> None:
        """Zoom in (factor > 1) or out, around the view's centre, within ZOOM_RANGE."""
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self._zoom_by(factor)
        self.setTransformationAnchor(anchor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() or event.angleDelta().x()
        if steps:
            self._zoom_by(WHEEL_STEP**steps)  # anchored under the mouse
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(KEY_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / KEY_STEP)
        elif key == Qt.Key.Key_0:
            self.fit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._auto_fit:
            self.fit()

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    # --- export -----------------------------------------------------------------------------

    def write_svg(self, path: str | Path, title: str = "Engine graph") -> None:
        """The whole graph (not just what is in view) as SVG, with labels and stage as
        shown; OSError naming the file on failure."""
        size = self._scene_size()
        write_svg(Path(path), size, title, lambda painter: self._render(painter, size))

    def _scene_size(self) -> QSize:
        rect = self._scene.sceneRect()
        return QSize(max(1, math.ceil(rect.width())), max(1, math.ceil(rect.height())))

    def write_png(self, path: str | Path) -> None:
        """The whole graph as PNG at PNG_SCALE pixels per scene unit, on the palette's base
        colour; OSError naming the file on failure."""
        path, size = Path(path), self._scene_size()
        image = QImage(size * PNG_SCALE, QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(PNG_SCALE)
        image.fill(self.palette().color(QPalette.ColorRole.Base))
        painter = QPainter(image)
        self._render(painter, size)
        painter.end()
        if not image.save(str(path), "PNG"):
            raise OSError(f"could not write {path.name}")

    def _render(self, painter: QPainter, size: QSize) -> None:
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        target = QRectF(0, 0, size.width(), size.height())
        source = QRectF(self._scene.sceneRect().topLeft(), target.size())
        self._scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)

    # --- palette ------------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in _PALETTE_EVENTS:
            self._apply_palette()
        elif event.type() == QEvent.Type.FontChange and self._outline is not None:
            self._apply_fonts()
            self._resize_nodes(shrink=True)

    def _apply_palette(self) -> None:
        """Colour every item from the palette: base background, text colour, kind colours
        of the light or dark set."""
        palette = self.palette()
        self._look = looks(palette)
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        self._scene.setBackgroundBrush(base)
        text_brush = QBrush(text)
        for node in self._nodes.values():
            for item in (node.title, node.shape, node.extra):
                item.setBrush(text_brush)
        group_fill = _blend(base, text, 0.05)
        group_pen = QPen(_blend(base, text, 0.25), 1)
        for box, label, _names in self._groups:
            box.setBrush(group_fill)
            box.setPen(group_pen)
            label.setBrush(QBrush(_blend(base, text, 0.7)))
        pen = QPen(palette.color(QPalette.ColorRole.Highlight), 2, Qt.PenStyle.DashLine)
        self._selection.setPen(pen)
        self._selection.setBrush(Qt.BrushStyle.NoBrush)
        self._apply_stage()

    def _apply_fonts(self) -> None:
        title, shape, extra = self._fonts()
        for node in self._nodes.values():
            node.title.setFont(title)
            node.shape.setFont(shape)
            node.extra.setFont(extra)
        for _box, label, _names in self._groups:
            label.setFont(shape)
        for edge in self._edges:
            if edge.words is not None:
                edge.words.setFont(extra)

    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        """Bold names; shapes a little smaller; labels in the fixed font, for numbers."""
        title = QFont(self.font())
        title.setBold(True)
        shape = QFont(self.font())
        if shape.pointSizeF() > 0:
            shape.setPointSizeF(shape.pointSizeF() * 0.9)
        extra = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if extra.pointSizeF() > 0 and shape.pointSizeF() > 0:
            extra.setPointSizeF(shape.pointSizeF())
        return title, shape, extra

    # --- building -------------------------------------------------------------------------------

    def _keep_helpers(self) -> None:
        """The selection halo and the stage's glow live on in the scene, hidden when unused."""
        for item in (self._selection, self._glow):
            item.setVisible(False)
            self._scene.addItem(item)

    def _empty_scene(self) -> None:
        """Every item gone but the selection halo and the glow, which are kept (hidden)."""
        self._scene.removeItem(self._selection)
        self._scene.removeItem(self._glow)
        self._scene.clear()
        self._keep_helpers()
        self._nodes, self._edges, self._groups = {}, [], []
        self._stage = _Stage()
        self._edge_room = 0.0

    def _build(self, outline: GraphOutline) -> None:
        keep = self._selected
        self._empty_scene()
        self._outline = outline
        self._labels = {}
        title_font, shape_font, extra_font = self._fonts()
        grid = layout(outline)
        for info in outline.nodes:
            box = QGraphicsPathItem()
            box.setZValue(_Z_NODE)
            box.setData(0, info.name)
            box.setToolTip(_tool_tip(info))
            title = QGraphicsSimpleTextItem(info.name, box)
            title.setFont(title_font)
            shape = QGraphicsSimpleTextItem(shape_text(info.shape), box)
            shape.setFont(shape_font)
            extra = QGraphicsSimpleTextItem("", box)
            extra.setFont(extra_font)
            self._scene.addItem(box)
            self._nodes[info.name] = _Node(info, box, title, shape, extra, grid=grid[info.name])
        for source, consumer in outline.edges():
            line = QGraphicsPathItem()
            line.setZValue(_Z_EDGE)
            line.setBrush(Qt.BrushStyle.NoBrush)
            head = QGraphicsPolygonItem(line)
            head.setPen(QPen(Qt.PenStyle.NoPen))
            self._scene.addItem(line)
            self._edges.append(_Edge(source, consumer, line, head))
        for group in outline.groups:
            names = tuple(name for name in group.names if name in self._nodes)
            if not names:
                continue
            box = QGraphicsPathItem()
            box.setZValue(_Z_GROUP)
            label = QGraphicsSimpleTextItem(group.label, box)
            label.setFont(shape_font)
            self._scene.addItem(box)
            self._groups.append((box, label, names))
        distinct = sorted({node.grid[0] for node in self._nodes.values()})
        for node in self._nodes.values():
            node.column = distinct.index(node.grid[0])
        self._apply_palette()
        self._resize_nodes(shrink=True)
        self._selected = keep if keep in self._nodes else None
        self._place_selection()
        self.fit()

    def _resize_nodes(self, names: Collection[str] | None = None, shrink: bool = False) -> None:
        """Size these nodes (None: all) to their texts, never smaller than before unless
        `shrink`, then place everything if any size changed (or on `shrink`)."""
        changed = False
        for name in self._nodes if names is None else names:
            node = self._nodes[name]
            width, height = _node_size(node)
            if not shrink:
                width, height = max(width, node.size[0]), max(height, node.size[1])
            if (width, height) != node.size:
                node.size = (width, height)
                node.box.setPath(_outline_path(node.info.kind, width, height))
                changed = True
            _arrange_texts(node)
        if changed or shrink:
            self._place()

    def _place(self) -> None:
        """Node positions in pixels from the layout's grid, spaced by the nodes' sizes:
        columns as wide as their widest node, rows far enough apart that no two nodes of a
        column touch. Then the edges, groups, scene rectangle and highlights follow."""
        nodes = list(self._nodes.values())
        if not nodes:
            return
        count = max(node.column for node in nodes) + 1
        half = [0.0] * count
        for node in nodes:
            half[node.column] = max(half[node.column], node.size[0] / 2)
        centres = [half[0]]
        for c in range(1, count):
            centres.append(centres[-1] + half[c - 1] + max(_GAP_X, self._edge_room) + half[c])
        self._centres, self._half = centres, half
        gap = _GAP_Y + (self._group_label_height() if self._groups else 0)
        row = 1.0
        by_column: list[list[_Node]] = [[] for _ in range(count)]
        for node in nodes:
            by_column[node.column].append(node)
        for column in by_column:
            column.sort(key=lambda n: n.grid[1])
            for a, b in pairwise(column):
                apart = max(b.grid[1] - a.grid[1], 0.05)
                row = max(row, ((a.size[1] + b.size[1]) / 2 + gap) / apart)
        for node in nodes:
            node.box.setPos(centres[node.column], node.grid[1] * row)
        self._route_edges(centres, half, by_column)
        self._place_groups()
        self._place_selection()
        self._apply_stage()
        bounds = QRectF()
        for item in self._scene.items():
            if item.isVisible() and item.parentItem() is None:
                bounds = bounds.united(item.sceneBoundingRect())
        margin = _MARGIN + 10  # room for the halo and glow
        self._scene.setSceneRect(bounds.adjusted(-margin, -margin, margin, margin))
        if self._auto_fit and self.isVisible():
            self.fit()

    def _route_edges(
        self, centres: list[float], half: list[float], by_column: list[list[_Node]]
    ) -> None:
        """Each edge from the right of its input to the left of its consumer, ends spread
        over the nodes' sides; an edge spanning columns passes each between its nodes."""
        outs: dict[str, list[_Edge]] = {name: [] for name in self._nodes}
        ins: dict[str, list[_Edge]] = {name: [] for name in self._nodes}
        for edge in self._edges:
            outs[edge.source].append(edge)
            ins[edge.consumer].append(edge)
        y = {name: node.box.pos().y() for name, node in self._nodes.items()}
        starts: dict[int, QPointF] = {}
        ends: dict[int, QPointF] = {}
        for name, node in self._nodes.items():
            leaving = sorted(outs[name], key=lambda e: y[e.consumer])
            for edge, point in zip(leaving, _ports(node, len(leaving), 1), strict=True):
                starts[id(edge)] = point
            entering = sorted(ins[name], key=lambda e: y[e.source])
            for edge, point in zip(entering, _ports(node, len(entering), -1), strict=True):
                ends[id(edge)] = point
        for edge in self._edges:
            start, tip = starts[id(edge)], ends[id(edge)]
            first = self._nodes[edge.source].column
            last = self._nodes[edge.consumer].column
            path = QPainterPath(start)
            if last > first:
                end = QPointF(tip.x() - _ARROW_LENGTH, tip.y())
                points = [start]
                for c in range(first + 1, last):
                    share = (centres[c] - start.x()) / max(end.x() - start.x(), 1e-6)
                    wanted = start.y() + share * (end.y() - start.y())
                    passing = _free_row(by_column[c], wanted)
                    points.append(QPointF(centres[c] - half[c] - 4, passing))
                    points.append(QPointF(centres[c] + half[c] + 4, passing))
                points.append(end)
                for a, b in pairwise(points):
                    middle = (a.x() + b.x()) / 2
                    path.cubicTo(QPointF(middle, a.y()), QPointF(middle, b.y()), b)
                direction = QPointF(1, 0)
            else:  # not expected from the layout: a plain line, wherever it goes
                source = self._nodes[edge.source].box.pos()
                target = self._nodes[edge.consumer].box.pos()
                start = source
                tip = target
                length = math.hypot(tip.x() - start.x(), tip.y() - start.y()) or 1.0
                direction = QPointF((tip.x() - start.x()) / length,
                                    (tip.y() - start.y()) / length)
                path = QPainterPath(start)
                path.lineTo(tip - direction * _ARROW_LENGTH)
            edge.line.setPath(path)
            normal = QPointF(-direction.y(), direction.x())
            back = tip - direction * _ARROW_LENGTH
            edge.head.setPolygon(QPolygonF([
                tip, back + normal * _ARROW_WIDTH, back - normal * _ARROW_WIDTH,
            ]))

    def _place_groups(self) -> None:
        label_height = self._group_label_height()
        for box, label, names in self._groups:
            # Around the layer's operations only: its weights sit a column left, under the
            # previous layer's activation, and a box reaching them would overlap that layer's.
            operations = [n for n in names if self._nodes[n].info.kind == "operation"]
            rect = QRectF()
            for name in operations or names:
                rect = rect.united(self.node_scene_rect(name))
            rect.adjust(-_GROUP_PAD, -_GROUP_PAD - label_height, _GROUP_PAD, _GROUP_PAD)
            path = QPainterPath()
            path.addRoundedRect(rect, 8, 8)
            box.setPath(path)
            label.setPos(rect.left() + 6, rect.top() + 3)

    def _group_label_height(self) -> float:
        return self._fonts()[1].pointSizeF() * 1.6 if self._groups else 0.0

    def _place_selection(self) -> None:
        node = self._nodes.get(self._selected) if self._selected else None
        if node is None:
            self._selection.setVisible(False)
            return
        width, height = node.size
        self._selection.setPath(_outline_path(node.info.kind, width + 10, height + 10))
        self._selection.setPos(node.box.pos())
        self._selection.setVisible(True)

    def _apply_stage(self) -> None:
        """Pens, fills, the glow and the edge texts for the stage (none: the plain look)."""
        look, stage = self._look, self._stage
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        base = palette.color(QPalette.ColorRole.Base)
        role = look.roles[stage.role]
        for name, node in self._nodes.items():
            kind = node.info.kind
            if name == stage.current:
                node.box.setBrush(look.tints[stage.role])
                node.box.setPen(QPen(role, 3.5))
            elif name in stage.lit:
                node.box.setBrush(look.fills[kind])
                node.box.setPen(QPen(role, 2.5))
            else:
                node.box.setBrush(look.fills[kind])
                pen = QPen(look.borders[kind], 1.2)
                if kind == "constant":
                    pen.setStyle(Qt.PenStyle.DashLine)
                node.box.setPen(pen)
        current = self._nodes.get(stage.current) if stage.current else None
        if current is None:
            self._glow.setVisible(False)
        else:
            width, height = current.size
            kind = current.info.kind
            glow = _outline_path("constant" if kind == "variable" else kind,
                                 width + 16, height + 16)  # a softer corner around a box
            self._glow.setPath(glow)
            self._glow.setPos(current.box.pos())
            halo = QColor(role)
            halo.setAlpha(90)
            self._glow.setBrush(halo)
            self._glow.setVisible(True)
        plain = _blend(base, text, 0.55)
        visited = stage.lit | ({stage.current} if stage.current else set())
        for edge in self._edges:
            text_on = stage.edge_labels.get((edge.source, edge.consumer))
            if text_on is not None:
                colour, width = role, 2.2
            elif edge.source in visited and edge.consumer in visited:
                colour, width = role, 1.6
            else:
                colour, width = plain, 1.2
            edge.line.setPen(QPen(colour, width))
            edge.head.setBrush(colour)
            self._set_edge_text(edge, text_on, role, base, text)
        self._place_edge_texts()

    def _place_edge_texts(self) -> None:
        """Each edge text in the gap before its consumer's column, on the edge, the texts
        of one gap moved apart if they would overlap."""
        placed: list[QRectF] = []
        labelled = [edge for edge in self._edges if edge.label is not None]
        spots = []
        for edge in labelled:
            first = self._nodes[edge.source].column
            last = self._nodes[edge.consumer].column
            path = edge.line.path()
            if first < last <= len(self._centres) - 1:
                x = (self._centres[last - 1] + self._half[last - 1]
                     + self._centres[last] - self._half[last]) / 2
                spots.append((edge, _point_at_x(path, x)))
            else:
                spots.append((edge, path.pointAtPercent(0.5)))
        for edge, spot in sorted(spots, key=lambda pair: (pair[1].x(), pair[1].y())):
            assert edge.label is not None
            bounds = edge.label.path().boundingRect()
            rect = bounds.translated(spot)
            for other in placed:  # in order of height: push this one down past the others
                if rect.intersects(other):
                    rect.moveTop(other.bottom() + 2)
            placed.append(rect)
            edge.label.setPos(rect.topLeft() - bounds.topLeft())

    def _set_edge_text(
        self, edge: _Edge, text: str | None, role: QColor, base: QColor, ink: QColor
    ) -> None:
        edge.text = text
        if text is None:
            if edge.label is not None:
                self._scene.removeItem(edge.label)
                edge.label = edge.words = None
            return
        if edge.label is None or edge.words is None:
            edge.label = QGraphicsPathItem()
            edge.label.setZValue(_Z_EDGE_LABEL)
            edge.words = QGraphicsSimpleTextItem(edge.label)
            edge.words.setFont(self._fonts()[2])
            self._scene.addItem(edge.label)
        words = edge.words
        words.setText(text)
        words.setBrush(ink)
        bounds = words.boundingRect()
        rect = QRectF(-bounds.width() / 2 - 4, -bounds.height() / 2 - 2,
                      bounds.width() + 8, bounds.height() + 4)
        words.setPos(rect.left() + 4, rect.top() + 2)
        path = QPainterPath()
        path.addRoundedRect(rect, 4, 4)
        edge.label.setPath(path)
        edge.label.setBrush(base)
        edge.label.setPen(QPen(role, 1))

    # --- zoom helpers -------------------------------------------------------------------------

    def _zoom_by(self, factor: float) -> None:
        rect = self._scene.sceneRect()
        low, high = ZOOM_RANGE
        viewport = self.viewport().rect()
        if not rect.isEmpty() and viewport.width() > 0 and viewport.height() > 0:
            fitted = min(viewport.width() / rect.width(), viewport.height() / rect.height())
            low = min(low, fitted)
        wanted = min(max(self.zoom() * factor, low), high)
        self._auto_fit = False
        self._scale_to(wanted)

    def _scale_to(self, zoom: float) -> None:
        current = self.zoom()
        if current > 0 and not math.isclose(zoom, current):
            self.scale(zoom / current, zoom / current)

    def _node_at(self, point: QPoint) -> str | None:
        """The node under a viewport point, through halos and edge texts above it."""
        for item in self.items(point):
            while item is not None:
                name = item.data(0)
                if isinstance(name, str) and name in self._nodes:
                    return name
                item = item.parentItem()
        return None


def _tool_tip(info: OutlineNode) -> str:
    """E.g. "z1: add of matmul1, b1 → 5×8", "W1: variable → 2×8"."""
    what = info.op if info.kind == "operation" else info.kind
    inputs = f" of {', '.join(info.inputs)}" if info.inputs else ""
    shape = f" → {shape_text(info.shape)}" if info.shape is not None else ""
    return f"{info.name}: {what}{inputs}{shape}"


def _structure(outline: GraphOutline) -> tuple:
    """What decides the drawing: everything but the shapes."""
    return (
        tuple((n.name, n.kind, n.op, n.inputs) for n in outline.nodes),
        outline.loss,
        outline.groups,
    )


def _node_size(node: _Node) -> tuple[float, float]:
    """The outline's size that holds the node's texts, by its kind."""
    texts = [item for item in (node.title, node.shape, node.extra) if item.text()]
    width = max(item.boundingRect().width() for item in texts)
    height = sum(item.boundingRect().height() for item in texts)
    kind = node.info.kind
    if kind == "operation":  # the text block inside the ellipse
        width, height = width * 1.12 + 2 * _PAD_X, height * 1.2 + 2 * _PAD_Y + 2
    elif kind == "placeholder":  # the pill's round ends
        width, height = width + 2 * _PAD_X + height * 0.5, height + 2 * _PAD_Y
    else:
        width, height = width + 2 * _PAD_X, height + 2 * _PAD_Y
    if kind == "constant":
        width, height = max(width, 36.0), max(height, 20.0)
    else:
        width, height = max(width, 52.0), max(height, 26.0)
    return _round_up(width), _round_up(height)


def _arrange_texts(node: _Node) -> None:
    """The texts stacked and centred on the node's middle."""
    texts = [item for item in (node.title, node.shape, node.extra) if item.text()]
    total = sum(item.boundingRect().height() for item in texts)
    top = -total / 2
    for item in texts:
        bounds = item.boundingRect()
        item.setPos(-bounds.width() / 2, top)
        top += bounds.height()


def _ports(node: _Node, count: int, side: int) -> list[QPointF]:
    """`count` points on the node's right (side 1) or left (-1) edge, top to bottom."""
    if count == 0:
        return []
    width, height = node.size
    step = min(9.0, 0.55 * height / max(count - 1, 1))
    centre = node.box.pos()
    points = []
    for k in range(count):
        dy = (k - (count - 1) / 2) * step
        dx = width / 2
        if node.info.kind == "operation":
            dx *= math.sqrt(max(0.0, 1 - (2 * dy / height) ** 2))
        elif node.info.kind == "placeholder":
            r = height / 2
            dx = width / 2 - r + math.sqrt(max(0.0, r * r - dy * dy))
        points.append(QPointF(centre.x() + side * dx, centre.y() + dy))
    return points


def _free_row(column: list[_Node], wanted: float) -> float:
    """The y nearest `wanted` where a line can cross this column between its nodes."""
    spans = sorted(
        (n.box.pos().y() - n.size[1] / 2 - _PASS_MARGIN,
         n.box.pos().y() + n.size[1] / 2 + _PASS_MARGIN)
        for n in column
    )
    merged: list[list[float]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    for low, high in merged:
        if low < wanted < high:
            return low if wanted - low <= high - wanted else high
    return wanted

