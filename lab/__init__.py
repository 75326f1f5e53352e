"""Training Lab: watch gradient descent train a classifier on 2-D points, live."""

__version__ = "0.1.0"

APP_NAME = "Training Lab"  # window title, QSettings scope, application name
