"""A from-scratch computational-graph engine in numpy with the TensorFlow-1 API of the
"Deep Learning From Scratch" tutorial: build a graph, run it in a Session, backpropagate.

    import engine as ts
    with ts.Graph().as_default():
        X = ts.placeholder(); W = ts.Variable(np.random.randn(2, 2))
        ...
"""

from engine import train
from engine.gradients import GradientFlow, RegisterGradient, compute_gradients, trace_gradients
from engine.graph import Graph, Node, Operation, Variable, constant, get_default_graph, placeholder
from engine.kernels import in_layer_order
from engine.ops import (
    abs,  # shadows the builtin inside this package only, as tf.abs does in TensorFlow
    add,
    exp,
    log,
    matmul,
    multiply,
    negative,
    reduce_mean,
    reduce_sum,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    square,
    subtract,
    tanh,
)
from engine.session import Session
from engine.train import AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer

__version__ = "0.1.0"

__all__ = [
    "AdamOptimizer",
    "GradientDescentOptimizer",
    "GradientFlow",
    "Graph",
    "MomentumOptimizer",
    "Node",
    "Operation",
    "RegisterGradient",
    "Session",
    "Variable",
    "abs",
    "add",
    "compute_gradients",
    "constant",
    "exp",
    "get_default_graph",
    "in_layer_order",
    "log",
    "matmul",
    "multiply",
    "negative",
    "placeholder",
    "reduce_mean",
    "reduce_sum",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "square",
    "subtract",
    "tanh",
    "trace_gradients",
    "train",
]
