"""Fixtures for the engine tests that change module-level state and must put it back."""

import pytest

from engine import gradients, graph


@pytest.fixture
def own_registry(monkeypatch):
    """Gradients a test registers disappear with it."""
    monkeypatch.setattr(gradients, "_gradient_registry", dict(gradients._gradient_registry))


@pytest.fixture
def fresh_default(monkeypatch):
    """Start with no default graph, and put back whatever was there afterwards."""
    monkeypatch.setattr(graph._thread, "graph", None, raising=False)
