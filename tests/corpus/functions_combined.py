"""Constructs in combination: small numerical programs as people write them."""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def rnn_loss(w, u, xs, h0):
    h = h0
    loss = 0.0
    for x in xs:
        h = np.tanh(w @ h + u @ x)
        loss += np.sum(h**2)
    return loss


def unrolled_gradient_descent(x, target):
    lr = 0.1
    for _ in range(5):
        g = 2.0 * (x - target) + np.cos(x)
        x = x - lr * g
    return np.sum((x - target) ** 2)


def euler_ode(y0, k):
    y = y0
    dt = 0.1
    for _ in range(10):
        y = y + dt * (-k * y + np.sin(y))
    return np.sum(y)


def rk2_ode_while(y0, k):
    t = 0
    y = y0
    while t < 8:
        mid = y + 0.05 * (-k * y**3)
        y = y + 0.1 * (-k * mid**3)
        t += 1
    return y


def bubble_sort_weighted(x):
    y = x.copy()
    n = y.shape[0]
    for i in range(n):
        for j in range(n - 1 - i):
            if y[j] > y[j + 1]:
                tmp = y[j]
                y[j] = y[j + 1]
                y[j + 1] = tmp
    return np.sum(y * np.arange(1.0, n + 1.0))


def gram_schmidt(a):
    n = a.shape[1]
    q = np.zeros_like(a)
    for k in range(n):
        v = a[:, k]
        for j in range(k):
            v = v - np.dot(q[:, j], a[:, k]) * q[:, j]
        q[:, k] = v / np.linalg.norm(v)
    return np.sum(q * np.arange(12.0).reshape(4, 3))


def power_iteration(a):
    m = a @ a.T
    v = np.ones(a.shape[0])
    change = 1.0
    while change > 1e-13:
        w = m @ v
        w = w / np.linalg.norm(w)
        change = np.linalg.norm(w - v)
        v = w
    return v @ m @ v


def piecewise_linear_interp(knots_y, t):
    knots_x = np.array([0.0, 1.0, 2.0, 3.0])
    value = knots_y[-1]
    for i in range(len(knots_x) - 1):
        if t < knots_x[i + 1]:
            w = (t - knots_x[i]) / (knots_x[i + 1] - knots_x[i])
            value = (1.0 - w) * knots_y[i] + w * knots_y[i + 1]
            break
    return value


def conv1d_loops(x, kernel):
    n = x.shape[0] - kernel.shape[0] + 1
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sum(x[i : i + kernel.shape[0]] * kernel)
    return np.sum(np.tanh(out))


def kalman_like(a, q, obs):
    x = np.zeros(2)
    p = np.eye(2)
    h = np.array([[1.0, 0.0]])
    total = 0.0
    for z in obs:
        x = a @ x
        p = a @ p @ a.T + q
        s = h @ p @ h.T + 0.5
        k = p @ h.T @ np.linalg.inv(s)
        innovation = z - h @ x
        x = x + (k @ innovation)
        p = (np.eye(2) - k @ h) @ p
        total = total + np.sum(innovation**2) + np.log(np.linalg.det(s))
    return total


def running_max_setitem(x):
    y = np.zeros_like(x)
    best = x[0]
    for i, v in enumerate(x):
        if v > best:
            best = v
        y[i] = best
    return np.sum(y**2)


def logistic_regression(w, b, x, labels):
    p = sigmoid(x @ w + b)
    eps = 1e-9
    return -np.mean(labels * np.log(p + eps) + (1.0 - labels) * np.log(1.0 - p + eps))


def de_casteljau(points, t):
    if len(points) == 1:
        return points[0]
    blended = []
    for i in range(len(points) - 1):
        blended.append((1.0 - t) * points[i] + t * points[i + 1])
    return de_casteljau(blended, t)


def bezier_length(points):
    total = 0.0
    prev = de_casteljau(points, 0.0)
    for k in range(1, 5):
        cur = de_casteljau(points, k / 4.0)
        total = total + np.sqrt(np.sum((cur - prev) ** 2))
        prev = cur
    return total


def masked_mean_loop(x):
    acc = 0.0
    count = 0
    for row in x:
        if np.sum(row) < 0:
            continue
        acc = acc + np.mean(row**2)
        count += 1
    return acc / count if count > 0 else 0.0


def bisection_then_refine(a):
    lo = 0.0
    hi = 4.0
    for _ in range(6):
        mid = 0.5 * (lo + hi)
        if mid * mid > 2.0:
            hi = mid
        else:
            lo = mid
    y = 0.5 * (lo + hi)
    for _ in range(3):
        y = y - (y * y - a) / (2.0 * y)
    return y


def moving_average_lists(x):
    windows = []
    for i in range(len(x) - 2):
        windows.append(np.mean(x[i : i + 3]))
    smoothed = np.stack(windows)
    return np.sum((smoothed - np.mean(smoothed)) ** 2)


def cumulative_product_early_stop(x):
    prod = 1.0
    for i in range(x.shape[0]):
        prod = prod * x[i]
        if prod > 10.0:
            return prod + i
    return prod


def softmax_rows_loop(a):
    out = np.zeros_like(a)
    for i in range(a.shape[0]):
        e = np.exp(a[i] - np.max(a[i]))
        out[i, :] = e / np.sum(e)
    return np.sum(out * np.arange(4.0))


CASES = [
    (
        rnn_loss,
        lambda rng: (
            rng.normal(size=(3, 3)) * 0.5,
            rng.normal(size=(3, 2)) * 0.5,
            rng.normal(size=(4, 2)),
            np.zeros(3),
        ),
        (0, 1, 2),
    ),
    (unrolled_gradient_descent, lambda rng: (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (euler_ode, lambda rng: (rng.normal(size=3), 0.7), (0, 1)),
    (rk2_ode_while, lambda rng: (0.8, 0.5), (0, 1)),
    (bubble_sort_weighted, lambda rng: (np.array([0.3, -1.2, 2.0, 0.9, -0.1]),), 0),
    (gram_schmidt, lambda rng: (rng.normal(size=(4, 3)) + 2.0 * np.eye(4, 3),), 0),
    (
        power_iteration,
        lambda rng: (np.array([[2.0, 0.3, 0.1], [0.2, 1.0, 0.0], [0.1, 0.4, 0.5]]),),
        0,
    ),
    (piecewise_linear_interp, lambda rng: (rng.normal(size=4), 1.4), (0, 1)),
    (conv1d_loops, lambda rng: (rng.normal(size=6), rng.normal(size=3)), (0, 1)),
    (
        kalman_like,
        lambda rng: (
            np.array([[1.0, 0.1], [0.0, 1.0]]) + 0.05 * rng.normal(size=(2, 2)),
            np.eye(2) * 0.1 + 0.01 * rng.normal(size=(2, 2)),
            rng.normal(size=(4, 1)),
        ),
        (0, 1, 2),
    ),
    (running_max_setitem, lambda rng: (np.array([0.2, -0.5, 0.9, 0.4, 1.6, 1.1]),), 0),
    (
        logistic_regression,
        lambda rng: (
            rng.normal(size=3),
            0.1,
            rng.normal(size=(6, 3)),
            np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0]),
        ),
        (0, 1, 2),
    ),
    (bezier_length, lambda rng: ([rng.normal(size=2) for _ in range(4)],), 0),
    (masked_mean_loop, lambda rng: (np.array([[0.5, 1.0], [-1.0, -0.2], [0.3, -0.1]]),), 0),
    (bisection_then_refine, lambda rng: (2.3,), 0),
    (moving_average_lists, lambda rng: (rng.normal(size=6),), 0),
    (cumulative_product_early_stop, lambda rng: (np.array([1.5, 2.5, 3.5, 1.2]),), 0),
    (cumulative_product_early_stop, lambda rng: (np.array([0.5, 1.5, 0.8]),), 0),
    (softmax_rows_loop, lambda rng: (rng.normal(size=(3, 4)),), 0),
]
