"""Reading and writing the lab's files: points CSV, weights, whole workspaces.

Each format has its own module; callers import from those. Files come from anywhere, so
every loader is strict and reports problems as ``reading.FileFormatError``.
"""
