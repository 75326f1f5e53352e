"""Every menu command of the window, in one table: menus, shortcuts and the shortcuts help.

The window builds its menus from ACTIONS and calls the method each one names; the help dialog
and the README's table list the same rows (a test checks the README), so they cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtGui import QKeySequence

Key = QKeySequence.StandardKey


@dataclass(frozen=True)
class Action:
    """One command: where it sits, what it says, its keys, and the window method it calls."""

    name: str  # the QAction's objectName, and the window method it triggers
    menu: str
    text: str
    tip: str  # status tip, and the line in the shortcuts help
    shortcut: str | Key | None = None
    checkable: bool = False
    separator: bool = False  # a separator goes above it

    def key_text(self, native: bool = False) -> str:
        """The shortcut as text ("" without one), e.g. 'Ctrl+S'. A standard key lists the
        platform's keyboard bindings for it, e.g. 'Ctrl+Y / Ctrl+Shift+Z' for Redo."""
        if self.shortcut is None:
            return ""
        form = QKeySequence.SequenceFormat.NativeText if native else None
        form = form or QKeySequence.SequenceFormat.PortableText
        if not isinstance(self.shortcut, Key):
            return QKeySequence(self.shortcut).toString(form)
        keys = [
            key.toString(form)
            for key in QKeySequence.keyBindings(self.shortcut)
            if re.match(r"(Ctrl\+|F\d+$)", key.toString())  # not Alt+Backspace, media keys
        ]
        return " / ".join(keys)


ACTIONS: tuple[Action, ...] = (
    Action("new_dialog", "&File", "&New", "Start over with the tutorial's points", Key.New),
    Action("open_dialog", "&File", "&Open…",
           "Open a workspace (.tlab), points (.csv) or weights (.npz, .json)", Key.Open),
    Action("save_dialog", "&File", "&Save workspace", "Save the workspace (.tlab)", Key.Save),
    Action("save_as_dialog", "&File", "Save workspace &as…", "Save the workspace in a new file",
           "Ctrl+Shift+S"),
    Action("save_points_dialog", "&File", "Save &points as CSV…",
           "Write the points as x,y,label", separator=True),
    Action("import_weights_dialog", "&File", "&Import weights…",
           "Continue from weights in a .npz or .json file", "Ctrl+I"),
    Action("export_weights_dialog", "&File", "&Export weights…",
           "Write the weights as .npz or .json, for plain numpy", "Ctrl+E"),
    Action("export_data_plot_dialog", "&File", "Export &data plot…",
           "Save the data plot as PNG (twice its size) or SVG", "Ctrl+Shift+E"),
    Action("export_loss_plot_dialog", "&File", "Export &loss plot…",
           "Save the loss plot as PNG (twice its size) or SVG"),
    Action("export_weights_view_dialog", "&File", "Export weights ta&bles…",
           "Save the weights tables as PNG (twice their size) or SVG"),
    Action("export_graph_dialog", "&File", "Export &graph…",
           "Save the computational graph as Graphviz DOT, SVG or PNG"),
    # Key.Quit has no binding on some platforms (Windows, bare X11).
    Action("close", "&File", "&Quit", "Close the window", "Ctrl+Q", separator=True),
    Action("undo", "&Edit", "&Undo", "Undo a change to the points", Key.Undo),
    Action("redo", "&Edit", "&Redo", "Redo a change to the points", Key.Redo),
    Action("clear_points", "&Edit", "&Clear points", "Remove every point", separator=True),
    Action("train", "&Training", "&Train", "Train the given steps", "Ctrl+Return"),
    Action("toggle_pause", "&Training", "&Pause / resume", "Pause or resume the run", "Space"),
    Action("stop", "&Training", "&Stop", "End the run, keep the weights", "Esc"),
    Action("step", "&Training", "One s&tep", "Take exactly one step", "Ctrl+."),
    Action("reset", "&Training", "&Reset model", "New random weights, empty loss curve",
           "Ctrl+R"),
    Action("step_through", "&Training", "Step t&hrough",
           "Take one step and show it node by node in the graph", "Ctrl+Shift+T",
           separator=True),
    Action("next_stage", "&Training", "&Next stage", "Step through: the next node", "F10"),
    Action("previous_stage", "&Training", "Pre&vious stage", "Step through: the node before",
           "Shift+F10"),
    Action("check_gradients", "&Training", "&Check gradients",
           "Compare backpropagation with finite differences at the current weights"),
    Action("show_regions", "&View", "Decision &regions", "Shade where each class wins",
           checkable=True),
    Action("fit_view", "&View", "&Fit points", "Frame all points", "Ctrl+0"),
    Action("show_graph", "&View", "Computational &graph",
           "Show the engine graph, or the points again", "Ctrl+G"),
    Action("log_loss", "&View", "&Log loss axis", "Logarithmic loss axis", "Ctrl+L",
           checkable=True),
    Action("show_shortcuts", "&Help", "&Shortcuts", "List every shortcut", Key.HelpContents),
    Action("show_about", "&Help", "&About Training Lab", "Version and credits"),
)

# What the mouse does on the data plot; listed with the shortcuts.
GESTURES: tuple[tuple[str, str], ...] = (
    ("Left-click", "Add a point of the selected class (exactly under the cursor)"),
    ("Right- or Shift-click", "Add a point of the other class"),
    ("Ctrl-click", "Remove the nearest point"),
    ("Alt-click", "Explain the nearest point: its forward pass and gradient, with numbers"),
)


def shortcut_rows(native: bool = True) -> list[tuple[str, str]]:
    """(keys, what they do) for every action with a shortcut, then the mouse gestures."""
    rows = [(a.key_text(native), a.tip) for a in ACTIONS if a.shortcut is not None]
    return rows + list(GESTURES)


def tool_tip(name: str) -> str:
    """What the action of this name does, with its keys: for a button that does the same."""
    action = next(a for a in ACTIONS if a.name == name)
    keys = action.key_text(native=True)
    return f"{action.tip} ({keys})" if keys else action.tip
