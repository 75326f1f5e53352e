"""A spin box for values that span decades, such as the learning rate."""

from __future__ import annotations

import math

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox

_STEPS = (1.0, 2.0, 5.0)  # the 1-2-5 ladder: 0.01, 0.02, 0.05, 0.1, ...


class LogSpinBox(QDoubleSpinBox):
    """Arrow keys walk a 1-2-5 ladder; any value in range can be typed (e.g. 3e-4).

    It shows 4 significant digits and keeps 12 decimals, but `exact_value` gives back a value
    set from elsewhere (a file's 1/3000, say) to the last bit while the user leaves it alone,
    so showing a setting never changes it.
    """

    def __init__(self, minimum: float, maximum: float, value: float, parent=None) -> None:
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(minimum, maximum)
        self._exact = value
        self.setValue(value)
        self.setKeyboardTracking(False)

    def setValue(self, value: float) -> None:
        self._exact = value
        super().setValue(value)

    def exact_value(self) -> float:
        """The value last set, unrounded, unless the user has changed the field since."""
        return self._exact if self.value() == round(self._exact, self.decimals()) else self.value()

    def textFromValue(self, value: float) -> str:
        return f"{value:.4g}"

    def valueFromText(self, text: str) -> float:
        return float(text)

    def validate(self, text: str, pos: int) -> object:
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        ok = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def stepBy(self, steps: int) -> None:
        self.setValue(_ladder(self.value(), steps))


def _ladder(value: float, steps: int) -> float:
    """The value `steps` rungs up (or down) the 1-2-5 ladder from the rung nearest `value`."""
    decade = math.floor(math.log10(value))
    mantissa = value / 10**decade
    index = min(range(3), key=lambda i: abs(_STEPS[i] - mantissa))
    position = decade * 3 + index + steps
    return round(_STEPS[position % 3] * 10 ** (position // 3), 12)
