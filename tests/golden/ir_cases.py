"""One small function per structured construct, for the IR golden files (tests/golden/ir/)."""

import numpy as np


def branch(x, y):
    if np.sum(x) > 0.0:
        z = x * y
    else:
        z = np.sin(x)
    return np.sum(z)


def loop_for(W, xs):
    h = np.zeros(W.shape[0])
    for x in xs:
        h = np.tanh(W @ h + x)
    return np.sum(h * h)


def loop_while(x):
    steps = 0
    while x > 1.0:
        x = x / 2.0
        steps += 1
    return x * x + steps


def loop_break(x):
    total = 0.0
    for v in x:
        if v < 0.0:
            break
        total = total + v**2
    return total


def subscript_writes(x):
    y = np.zeros(4)
    y[0] = x[0] * 2.0
    y[1:3] = np.exp(x[1:3])
    y[3] += x[0]
    return np.sum(y * y)


EXAMPLE_ARGS = {
    "branch": (np.array([0.5, -0.2, 1.0]), 3.0),
    "loop_for": (np.full((2, 2), 0.3), np.array([[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]])),
    "loop_while": (5.0,),
    "loop_break": (np.array([0.5, 1.5, -1.0, 2.0]),),
    "subscript_writes": (np.array([0.3, -0.4, 0.8]),),
}
