"""Training Lab: watch gradient descent train a classifier on 2-D points, live."""

from importlib.resources import files
from pathlib import Path

__version__ = "0.1.0"

APP_NAME = "Training Lab"  # window title, QSettings scope, application name
# The files the app needs at run time (icon, .desktop entry), inside the package, so that a
# checkout, an editable install and a wheel find them alike.
ASSETS = Path(str(files(__name__) / "assets"))
