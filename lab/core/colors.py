"""Class colours shared by every view, so a class looks the same everywhere.

Okabe–Ito colours stay distinguishable under the common forms of colour blindness.
"""

CLASS_COLORS: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
CLASS_NAMES: tuple[str, ...] = tuple(f"class {i}" for i in range(len(CLASS_COLORS)))
