"""Runnable examples: `python -m engine.examples.perceptron`."""
