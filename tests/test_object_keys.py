"""A dict read from outside the function and keyed by an object (``self.shapes[layer]``, as
autograd's convnet example does): the generated code and the guard read it with the key
object itself, and a value stored under that key is read again on every call."""

from __future__ import annotations

import numpy as np

import srcad


class Layer:
    def __init__(self, width: int):
        self.width = width


class Net:
    def __init__(self):
        self.layers = [Layer(2), Layer(3)]
        self.spans = {self.layers[0]: (0, 2), self.layers[1]: (2, 5)}
        self.scales = {self.layers[0]: 1.5, self.layers[1]: -0.5}

    def loss(self, w):
        total = 0.0
        for layer in self.layers:
            start, stop = self.spans[layer]
            total = total + self.scales[layer] * np.sum(w[start:stop] ** 2)
        return total


def test_object_keys_are_read_with_the_object_on_every_call():
    net = Net()
    w = np.arange(1.0, 6.0)
    gradient = srcad.grad(net.loss)

    np.testing.assert_allclose(gradient(w), srcad.numerical_grad(net.loss, w), rtol=1e-6)
    net.scales[net.layers[1]] = 4.0
    np.testing.assert_allclose(gradient(w), srcad.numerical_grad(net.loss, w), rtol=1e-6)
    net.spans[net.layers[0]] = (0, 1)  # an int changed: recompiled, not stale
    np.testing.assert_allclose(gradient(w), srcad.numerical_grad(net.loss, w), rtol=1e-6)
