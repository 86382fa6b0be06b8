"""Layer-by-layer intrinsic dimension of a trained network: expansion, then compression.

After S. Recanatesi, M. Farrell, M. Advani, T. Moore, G. Lajoie and E. Shea-Brown,
"Dimensionality compression and expansion in deep neural networks", arXiv:1906.00443 (2019).
Their two-phase picture: the representation of inputs that live on a low-dimensional manifold
EXPANDS in dimension in the early layers (a nonlinear layer spreads a curved manifold over more
linear directions) and is COMPRESSED in the late layers towards the few task-relevant
variables; and SGD noise (a larger learning rate, a smaller batch) drives the compression
further: lower late-layer dimension at the same training loss.

The task (:func:`make_task`)
----------------------------
Latent variables ``z ~ U([-1, 1]^d)`` (``d = 2`` by default) are embedded nonlinearly in ``D``
ambient dimensions, ``x = U tanh(G z + b)/sqrt(m) * scale + noise``, with ``G`` (``m x d``, entries
``N(0, 1.5^2)``, ``m = 20``), ``b ~ U(-1, 1)``, ``scale = 40``,
``U`` a random ``D x m`` matrix with orthonormal columns, and isotropic Gaussian noise of standard
deviation ``noise`` in all ``D`` coordinates. The label is one of four classes, a nonlinear
function of the latents only: ``y = [z1 > 0.5 sin(pi z2)] + 2 [z2 > 0.5 sin(pi z1)]``.

The network (:class:`MLP`)
--------------------------
A numpy multilayer perceptron, ``depth`` hidden layers of width ``width`` (tanh or ReLU),
a softmax read-out, cross-entropy loss, plain minibatch SGD with backpropagation written out;
weights ``N(0, gain^2/fan_in)``. All randomness comes from one ``numpy.random.Generator``.

Measurements
------------
The representation of a held-out set of ``n_eval`` inputs at every layer (layer 0 is the input,
layers 1..depth the hidden layers) is measured with the package's estimators
(:mod:`replica.simulators.intrinsic_dimension`): the participation ratio ``pr`` (the linear
dimension of Recanatesi et al.) and ``twonn`` (Facco et al., nonlinear).
:func:`layerwise_id` returns the ID curves at checkpoints (epochs) of training;
:func:`sgd_noise_id` trains the same initial network with two SGD noise levels (learning rate,
batch size) until the training loss first drops below a common target and returns the curves
at equal loss; :func:`plot` draws both; ``python -m replica.layerwise --plot FILE.png``.

What is seen (and the limits of it)
-----------------------------------
Measured at the defaults, seed 0 (``python -m replica.layerwise``, about 20 s): the input PR is
2.06 (the embedded 2-d manifold is nearly flat); at initialisation the random tanh layers raise
it to about 3; after training (60 epochs, training loss 0.04, held-out accuracy 0.99) it reads
2.06 | 3.10 2.82 2.50 2.33 2.13 over the input and the five hidden layers: expansion in the first
layer, then compression toward the last. TwoNN, the nonlinear estimate, sees the local dimension
(3.15 at the input, between ``d = 2`` and the noise's ``D``, as the input noise is partly resolved
at the nearest-neighbour scale); it does not expand (a smooth map cannot raise the dimension of
a manifold) but after training falls layer by layer, 3.15 | 2.28 ... 2.18. The expansion seen
here is modest (a factor 1.3-1.8 in PR) and linear only.
SGD noise: from the same initialisation to the same training loss (0.06, reached at 0.059 and
0.050: the first epoch below the target), lr/batch = 5e-3 against 1e-4 gives a lower TwoNN in
every hidden layer (last layer 2.06 against 2.62); in 13 of 13 seeds at the reduced size of
tests/test_layerwise.py the noisier run had the lower mean hidden-layer TwoNN (differences
0.02-0.42). The PR shows it less robustly: lower last-layer PR with more noise in 7 of 10 seeds,
within 0.1 either way in the others.
"""
from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from replica.simulators.intrinsic_dimension import participation_ratio, twonn

__all__ = ["make_task", "MLP", "layerwise_id", "sgd_noise_id", "plot", "main", "ESTIMATORS"]

ESTIMATORS = ("pr", "twonn")


# -- the task -------------------------------------------------------------------------------
def _labels(z: np.ndarray) -> np.ndarray:
    a = z[:, 0] > 0.5 * np.sin(np.pi * z[:, 1])
    b = z[:, 1] > 0.5 * np.sin(np.pi * z[:, 0])
    return a.astype(int) + 2 * b.astype(int)


class Task:
    """The embedding (fixed by the generator at construction) and a sampler of (x, y, z)."""

    n_classes = 4

    def __init__(self, rng, d: int = 2, D: int = 50, m: int = 20, noise: float = 0.05, scale: float = 40.0):
        if d < 2:
            raise ValueError(f"d={d} is out of range; allowed: an integer >= 2 (the labels use z1, z2)")
        if D < m:
            raise ValueError(f"D={D} must be >= m={m}")
        self.d, self.D, self.m, self.noise, self.scale = int(d), int(D), int(m), float(noise), float(scale)
        self.G = rng.standard_normal((m, d)) * 1.5
        self.b = rng.uniform(-1.0, 1.0, m)
        self.U = np.linalg.qr(rng.standard_normal((D, m)))[0]

    def embed(self, z: np.ndarray) -> np.ndarray:
        h = np.tanh(z @ self.G.T + self.b) * (self.scale / math.sqrt(self.m))
        return h @ self.U.T

    def sample(self, n: int, rng):
        z = rng.uniform(-1.0, 1.0, (n, self.d))
        x = self.embed(z)
        if self.noise > 0:
            x = x + self.noise * rng.standard_normal(x.shape)
        return x, _labels(z), z


def make_task(rng, **kw) -> Task:
    return Task(rng, **kw)


# -- the network ----------------------------------------------------------------------------
class MLP:
    """tanh/ReLU multilayer perceptron with a softmax read-out, trained by minibatch SGD."""

    def __init__(self, sizes, rng, activation: str = "tanh", gain: float = 1.0):
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation={activation!r}; allowed: tanh, relu")
        self.activation = activation
        self.W = [rng.standard_normal((a, b)) * (gain / math.sqrt(a)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(b) for b in sizes[1:]]

    def copy(self) -> "MLP":
        out = MLP.__new__(MLP)
        out.activation = self.activation
        out.W = [w.copy() for w in self.W]
        out.b = [b.copy() for b in self.b]
        return out

    def _act(self, a):
        return np.tanh(a) if self.activation == "tanh" else np.maximum(a, 0.0)

    def _dact(self, h):
        return 1.0 - h * h if self.activation == "tanh" else (h > 0).astype(h.dtype)

    def forward(self, x):
        """[x, h1, ..., h_depth, logits]."""
        hs = [x]
        for W, b in zip(self.W[:-1], self.b[:-1]):
            hs.append(self._act(hs[-1] @ W + b))
        hs.append(hs[-1] @ self.W[-1] + self.b[-1])
        return hs

    @staticmethod
    def _softmax(logits):
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def loss(self, x, y) -> float:
        logits = self.forward(x)[-1]
        s = logits - logits.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        return float(-np.mean(logp[np.arange(len(y)), y]))

    def accuracy(self, x, y) -> float:
        return float(np.mean(np.argmax(self.forward(x)[-1], axis=1) == y))

    def sgd_step(self, x, y, lr: float):
        hs = self.forward(x)
        p = self._softmax(hs[-1])
        p[np.arange(len(y)), y] -= 1.0
        delta = p / len(y)                               # d loss / d logits
        for i in range(len(self.W) - 1, -1, -1):
            gW = hs[i].T @ delta
            gb = delta.sum(axis=0)
            if i > 0:
                delta = (delta @ self.W[i].T) * self._dact(hs[i])
            self.W[i] -= lr * gW
            self.b[i] -= lr * gb

    def epoch(self, x, y, lr: float, batch: int, rng):
        idx = rng.permutation(len(y))
        for s in range(0, len(y) - batch + 1, batch):
            j = idx[s:s + batch]
            self.sgd_step(x[j], y[j], lr)


# -- measurements ---------------------------------------------------------------------------
def layer_ids(net: MLP, x_eval, estimators=ESTIMATORS) -> dict:
    """{estimator: array over layers 0 (input) .. depth (last hidden)} on the held-out inputs."""
    hs = net.forward(x_eval)[:-1]
    out = {}
    for est in estimators:
        if est == "pr":
            out[est] = np.array([participation_ratio(h) for h in hs])
        elif est == "twonn":
            out[est] = np.array([twonn(h) for h in hs])
        else:
            raise ValueError(f"estimator={est!r}; allowed: one of {', '.join(ESTIMATORS)}")
    return out


def _setup(seed, d, D, noise, n_train, n_eval, depth, width, activation, gain, scale):
    root = np.random.SeedSequence(int(seed))
    r_task, r_data, r_eval, r_init, r_sgd = (np.random.default_rng(s) for s in root.spawn(5))
    task = make_task(r_task, d=d, D=D, noise=noise, scale=scale)
    x, y, _ = task.sample(n_train, r_data)
    xe, ye, _ = task.sample(n_eval, r_eval)
    net = MLP([D] + [width] * depth + [Task.n_classes], r_init, activation=activation, gain=gain)
    return task, (x, y), (xe, ye), net, r_sgd


def layerwise_id(seed: int = 0, *, d: int = 2, D: int = 50, noise: float = 0.05, n_train: int = 2000,
                 n_eval: int = 1000, depth: int = 5, width: int = 64, activation: str = "tanh",
                 gain: float = 1.0, scale: float = 40.0, lr: float = 0.05, batch: int = 16, epochs: int = 60,
                 checkpoints=(0, 5, 20, 60), estimators=ESTIMATORS) -> dict:
    """Train once and measure the ID of every layer at the checkpoint epochs.

    Returns a dict: ``epochs`` (the checkpoints), ``layers`` (0 = input, 1..depth hidden),
    ``ids`` ({estimator: array (n_checkpoints, depth + 1)}), ``train_loss``, ``eval_accuracy``
    (arrays over checkpoints) and the settings.
    """
    checkpoints = sorted({int(c) for c in checkpoints if 0 <= int(c) <= epochs})
    _, (x, y), (xe, ye), net, rng = _setup(seed, d, D, noise, n_train, n_eval, depth, width, activation, gain, scale)
    ids = {e: [] for e in estimators}
    losses, accs = [], []

    def record():
        for e, v in layer_ids(net, xe, estimators).items():
            ids[e].append(v)
        losses.append(net.loss(x, y))
        accs.append(net.accuracy(xe, ye))

    if 0 in checkpoints:
        record()
    for ep in range(1, epochs + 1):
        net.epoch(x, y, lr, batch, rng)
        if ep in checkpoints:
            record()
    return {"epochs": np.array(checkpoints), "layers": np.arange(depth + 1),
            "ids": {e: np.array(v) for e, v in ids.items()}, "train_loss": np.array(losses),
            "eval_accuracy": np.array(accs),
            "settings": dict(seed=seed, d=d, D=D, noise=noise, n_train=n_train, n_eval=n_eval, depth=depth,
                             width=width, activation=activation, gain=gain, scale=scale, lr=lr, batch=batch,
                             epochs=epochs)}


def sgd_noise_id(seed: int = 0, *, runs=((0.01, 100), (0.05, 10)), target_loss: float = 0.06,
                 max_epochs: int = 300, d: int = 2, D: int = 50, noise: float = 0.05, n_train: int = 2000,
                 n_eval: int = 1000, depth: int = 5, width: int = 64, activation: str = "tanh",
                 gain: float = 1.0, scale: float = 40.0, estimators=ESTIMATORS) -> dict:
    """Train the SAME initial network with each (learning rate, batch size) until the full training
    loss first drops to ``target_loss`` (checked after every epoch), then measure every layer.

    The SGD noise scale is ``lr/batch`` (the variance of the update noise per unit time).
    Returns ``runs`` (the (lr, batch) pairs), ``noise_scale``, ``ids`` ({estimator: array
    (n_runs, depth + 1)}), ``loss`` (the training loss reached), ``epochs`` (needed; -1 if the
    target was not reached within max_epochs, the ids then at max_epochs) and ``eval_accuracy``.
    """
    if int(max_epochs) < 1:
        raise ValueError(f"max_epochs={max_epochs} is out of range; allowed: an integer >= 1")
    _, (x, y), (xe, ye), net0, _ = _setup(seed, d, D, noise, n_train, n_eval, depth, width, activation, gain, scale)
    ids = {e: [] for e in estimators}
    losses, epochs, accs = [], [], []
    sgd_seeds = np.random.SeedSequence([int(seed), 1]).spawn(len(runs))
    for (lr, batch), ss in zip(runs, sgd_seeds):
        net, rng = net0.copy(), np.random.default_rng(ss)
        reached = -1
        for ep in range(1, max_epochs + 1):
            net.epoch(x, y, lr, batch, rng)
            loss = net.loss(x, y)
            if loss <= target_loss:
                reached = ep
                break
        for e, v in layer_ids(net, xe, estimators).items():
            ids[e].append(v)
        losses.append(loss)
        epochs.append(reached)
        accs.append(net.accuracy(xe, ye))
    return {"runs": [tuple(r) for r in runs], "noise_scale": np.array([lr / b for lr, b in runs]),
            "layers": np.arange(depth + 1), "ids": {e: np.array(v) for e, v in ids.items()},
            "loss": np.array(losses), "epochs": np.array(epochs), "eval_accuracy": np.array(accs),
            "target_loss": target_loss}


# -- the plot -------------------------------------------------------------------------------
def plot(curves: dict, noise: dict | None = None, path: str | None = None):
    """ID against layer at each checkpoint (one panel per estimator) and, if given, the SGD-noise
    comparison at equal training loss. Writes ``path`` (PNG or PDF) if given; returns the Figure."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ests = list(curves["ids"])
    ncol = len(ests) + (1 if noise is not None else 0)
    fig, axes = plt.subplots(1, ncol, figsize=(4.2 * ncol, 3.6), squeeze=False)
    axes = axes[0]
    layers = curves["layers"]
    cmap = plt.get_cmap("viridis")
    n_ck = len(curves["epochs"])
    for ax, est in zip(axes, ests):
        for i, ep in enumerate(curves["epochs"]):
            ax.plot(layers, curves["ids"][est][i], "o-", color=cmap(i / max(n_ck - 1, 1)),
                    label=f"epoch {ep} (loss {curves['train_loss'][i]:.2f})")
        ax.set_xlabel("layer (0 = input)")
        ax.set_ylabel({"pr": "participation ratio", "twonn": "TwoNN dimension"}.get(est, est))
        ax.set_xticks(layers)
        ax.set_title(f"{est}: over training")
        ax.legend(fontsize=7)
    if noise is not None:
        ax = axes[-1]
        for est, style in (("twonn", "o-"), ("pr", "s--")):
            if est not in noise["ids"]:
                continue
            for i, (lr, b) in enumerate(noise["runs"]):
                ax.plot(noise["layers"], noise["ids"][est][i], style, color=f"C{i}",
                        label=f"{est}: lr={lr:g}, batch={b} (loss {noise['loss'][i]:.3f})")
        ax.set_xlabel("layer (0 = input)")
        ax.set_ylabel("dimension")
        ax.set_xticks(noise["layers"])
        ax.set_title(f"SGD noise at equal training loss {noise['target_loss']:g}")
        ax.legend(fontsize=6)
    fig.suptitle("Dimensionality expansion and compression (Recanatesi et al. 2019)", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig


# -- the script -----------------------------------------------------------------------------
QUICK = dict(n_train=1000, n_eval=600, depth=4, width=48, epochs=40, checkpoints=(0, 10, 40))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m replica.layerwise",
                                description="Layer-by-layer intrinsic dimension of a trained MLP "
                                            "(Recanatesi et al. 2019): expansion, compression, SGD noise.")
    p.add_argument("--plot", metavar="FILE.png|FILE.pdf", help="write the figure")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--quick", action="store_true", help="a smaller network and data set (seconds)")
    p.add_argument("--no-sgd-noise", action="store_true", help="skip the SGD-noise comparison")
    args = p.parse_args(argv)
    if args.seed < 0:
        p.error(f"seed={args.seed} is out of range; allowed: an integer >= 0")
    kw = dict(QUICK) if args.quick else {}
    t0 = time.perf_counter()
    curves = layerwise_id(args.seed, **kw)
    for est, arr in curves["ids"].items():
        print(f"{est} by layer (rows: epochs {', '.join(map(str, curves['epochs']))}; columns: layer 0 = input):")
        for ep, row, loss in zip(curves["epochs"], arr, curves["train_loss"]):
            print(f"  epoch {ep:4d} loss {loss:.3f}: " + " ".join(f"{v:6.2f}" for v in row))
    print("held-out accuracy at the checkpoints: " + " ".join(f"{a:.3f}" for a in curves["eval_accuracy"]))
    noise = None
    if not args.no_sgd_noise:
        nkw = {k: v for k, v in kw.items() if k in ("n_train", "n_eval", "depth", "width")}
        noise = sgd_noise_id(args.seed, **nkw)
        print(f"SGD noise at equal training loss (target {noise['target_loss']}):")
        for i, (lr, b) in enumerate(noise["runs"]):
            print(f"  lr={lr:g} batch={b} (lr/batch={lr / b:.4g}) epochs={noise['epochs'][i]} "
                  f"loss={noise['loss'][i]:.3f}")
            for est, arr in noise["ids"].items():
                print(f"    {est:5s}: " + " ".join(f"{v:6.2f}" for v in arr[i]))
    if args.plot:
        plot(curves, noise, args.plot)
        print(f"wrote {args.plot}")
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    from replica.cli import run_script
    run_script(main)
