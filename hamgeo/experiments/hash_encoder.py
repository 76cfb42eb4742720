"""Reproduction of the hash-encoder paper: redundancy, categorization, the phase chart.

The paper is *Neural networks behave as hash encoders: an empirical study*
(He et al., ``shared/papers/hash_encoders.txt``). A ReLU network's activation
pattern (its *neural code*) names the linear region an input falls in. The paper
finds that trained networks are hash encoders:

* **determinism** — the redundancy ratio ``(n - m) / n`` (``m`` = number of distinct
  codes among ``n`` examples) is near zero, so almost every example has its own code;
* **categorization** — k-NN (Hamming), k-means and logistic regression on the codes
  come close to the network's own accuracy;

and that model size, training time and sample size dominate these properties, with
weight decay and label noise secondary. The *activation hash phase chart* places
models on the plane of size × training time (× sample size) and splits it into the
under-, critically- and sufficiently-expressive regimes.

What runs here (defaults; :meth:`Config.quick` shrinks them):

1. One-hidden-layer ReLU MLPs (:class:`hamgeo.nets.MLP`) of widths 1 upward on
   scikit-learn's digits and on MNIST-1D, several seeds each; the codes after every
   epoch for a subset of widths (training time); widths × training-set sizes; weight
   decay and label noise at a fixed width.
2. A small VGG-style CNN (:class:`hamgeo.nets.CNN`) on the digits images at a few sizes.
3. With ``mnist_path`` (``--mnist``) the width sweep also runs on MNIST; with
   ``cifar10_path`` (``--cifar10``) the CNN sweep also runs on CIFAR-10.

For every trained model: redundancy on the training and the test codes, k-NN
accuracy (test codes classified by the training codes, ``k`` = 9), k-means accuracy
(Hungarian matching, on the test codes) and logistic-regression accuracy on the
codes (width sweep), next to the network's own test accuracy.

Speed: all models of one sweep that share a shape are trained at once, ``jax.vmap``
over models inside one compiled epoch. Widths share one compilation through exact
zero padding: a width-``w`` MLP is embedded in a width-``W`` one whose extra units
have zero weights, zero bias and zero outgoing weights; such a unit's
pre-activation is exactly 0, so its ReLU gradient is 0 and Adam never moves it
(its code bit stays 0 and adds nothing to any Hamming distance or count). Smaller
training sets run the same number of steps as the full set (an "epoch" is
``n_full // batch_size`` steps, cycling through the subset), the design the paper's
fixed-budget sweeps follow.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hamgeo.codes import PackedCodes, pack_bits
from hamgeo.experiments._common import progress

__all__ = ["NAME", "Config", "Result", "plot", "regime", "run"]

NAME = "hash-encoder"

#: Redundancy thresholds of the phase chart's regimes (see :func:`regime`).
SUFFICIENT_REDUNDANCY = 0.01
UNDER_REDUNDANCY = 0.1


def regime(redundancy: float) -> str:
    """Name the phase-chart regime of a model from its training redundancy ratio.

    The paper splits the plane qualitatively; here the split is by the training
    redundancy ratio: *sufficiently expressive* at or below 0.01 (almost every
    example has its own code), *under-expressive* above 0.1, *critically
    expressive* between.

    Args:
        redundancy: the training redundancy ratio, in ``[0, 1]``.

    Returns:
        ``"under"``, ``"critical"`` or ``"sufficient"``.

    Examples:
        >>> regime(0.5), regime(0.05), regime(0.0)
        ('under', 'critical', 'sufficient')
    """
    if redundancy <= SUFFICIENT_REDUNDANCY:
        return "sufficient"
    if redundancy > UNDER_REDUNDANCY:
        return "under"
    return "critical"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of the hash-encoder experiment; the defaults follow the paper's MNIST study.

    Attributes:
        datasets: built-in datasets of the MLP sweeps (``"digits"``, ``"mnist1d"``).
        widths: hidden widths of the one-hidden-layer MLP width sweep.
        mnist1d_widths: widths of the MNIST-1D (and MNIST) width sweep; ``None``: ``widths``.
        main_width: the "wide MLP" of the summary (trained on digits).
        seeds: independent trainings per point.
        epochs: training epochs (Adam).
        batch_size: mini-batch size.
        learning_rate: Adam's step size.
        time_widths: widths whose codes are analysed after every epoch.
        sample_sizes: training-set sizes of the sample-size sweep (digits; capped at
            the training set).
        sample_widths: widths of the sample-size sweep.
        factor_width: width of the weight-decay and label-noise sweeps.
        weight_decays: decoupled weight decays (AdamW).
        label_noises: fractions of training labels replaced by random labels.
        cnn_channels: convolution channels of each CNN size (the CNN sweep).
        cnn_dense: dense layer widths of the CNN.
        cnn_epochs: training epochs of the CNNs.
        knn_k: neighbours of the k-NN vote.
        kmeans_iterations: cap on Lloyd iterations.
        logreg_l2: L2 penalty of the logistic regression.
        logreg_steps: full-batch Adam steps of the logistic regression.
        max_train: cap on training examples per dataset (MNIST has 60 000).
        mnist_path: folder of MNIST's IDX files (``--mnist``): adds MNIST to the width sweep.
        cifar10_path: folder of CIFAR-10's binary files (``--cifar10``): adds it to the
            CNN sweep.
    """

    datasets: tuple[str, ...] = ("digits", "mnist1d")
    widths: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256, 512)
    mnist1d_widths: tuple[int, ...] | None = None
    main_width: int = 512
    seeds: int = 3
    epochs: int = 50
    batch_size: int = 64
    learning_rate: float = 1e-3
    time_widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128, 512)
    sample_sizes: tuple[int, ...] = (50, 100, 200, 400, 800, 1437)
    sample_widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128, 512)
    factor_width: int = 64
    weight_decays: tuple[float, ...] = (0.0, 1e-3, 1e-2, 1e-1, 1.0)
    label_noises: tuple[float, ...] = (0.0, 0.1, 0.2, 0.4, 0.6)
    cnn_channels: tuple[tuple[int, ...], ...] = ((2, 4), (4, 8), (8, 16), (16, 32))
    cnn_dense: tuple[int, ...] = (32,)
    cnn_epochs: int = 30
    knn_k: int = 9
    kmeans_iterations: int = 100
    logreg_l2: float = 1e-3
    logreg_steps: int = 500
    max_train: int = 20000
    mnist_path: str | None = None
    cifar10_path: str | None = None

    @classmethod
    def quick(cls) -> Config:
        """Small sizes: about a minute on a 2-core CPU."""
        return cls(
            widths=(1, 2, 4, 8, 16, 32, 64, 128, 512),
            mnist1d_widths=(1, 4, 16, 64),
            seeds=2,
            epochs=15,
            time_widths=(2, 8, 32, 512),
            sample_sizes=(100, 400, 1437),
            sample_widths=(4, 16, 64),
            weight_decays=(0.0, 1e-2, 1e-1),
            label_noises=(0.0, 0.2, 0.4),
            cnn_channels=((4, 8),),
            cnn_epochs=10,
            logreg_steps=100,
            max_train=4000,
        )

    def __post_init__(self) -> None:
        for name in ("widths", "time_widths", "sample_widths", "sample_sizes"):
            values = getattr(self, name)
            if not values or any(int(v) < 1 for v in values):
                raise ValueError(f"`{name}` must be a non-empty tuple of positive ints")
        for name in (
            "main_width",
            "seeds",
            "epochs",
            "batch_size",
            "factor_width",
            "knn_k",
            "cnn_epochs",
            "kmeans_iterations",
            "logreg_steps",
            "max_train",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}")
        unknown = set(self.datasets) - {"digits", "mnist1d"}
        if unknown:
            raise ValueError(f"`datasets` must be among 'digits', 'mnist1d', got {sorted(unknown)}")


# ----------------------------------------------------------------------------- training


@dataclasses.dataclass(frozen=True)
class _Spec:
    """One model of a sweep."""

    sweep: str
    width: int
    seed: int
    n_train: int
    weight_decay: float = 0.0
    label_noise: float = 0.0
    track: bool = False  # analyse the codes after every epoch


def _bucket(width: int, widths: tuple[int, ...]) -> int:
    """The padded width a model is trained at: 64 for narrow nets, else the widest."""
    return 64 if width <= 64 else max(w for w in widths if w > 64)


def _codes_fn(model):
    """``x -> packed codes`` of one model (bit = pre-activation > 0)."""

    def codes(variables, x):
        _, pres = model.apply(variables, x, return_preactivations=True)
        bits = jnp.concatenate([p.reshape(p.shape[0], -1) > 0 for p in pres], axis=-1)
        return pack_bits(bits).words

    return codes


@functools.lru_cache(maxsize=32)
def _compiled(model, x_shape: tuple[int, ...], n: int, n_steps: int, batch: int, lr: float):
    """jit(vmap over models) of one epoch, of evaluation and of the optimizer's init."""
    opt = optax.adam(lr)

    def loss_fn(params, x, y):
        logits = model.apply({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def epoch(params, opt_state, key, x, y, rank, n_sub, wd):
        # The model's subset is {j : rank[j] < n_sub}; put it first, in random order, and cycle.
        u = jnp.where(rank < n_sub, jax.random.uniform(key, (n,)), 2.0)
        order = jnp.argsort(u)
        idx = order[jnp.arange(n_steps * batch) % n_sub].reshape(n_steps, batch)

        def step(carry, ids):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, x[ids], y[ids])
            updates, opt_state = opt.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            # Decoupled weight decay (AdamW's form): p <- p - lr * wd * p.
            params = jax.tree.map(lambda p: p * (1.0 - lr * wd), params)
            return (params, opt_state), loss

        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), idx)
        return params, opt_state, jnp.mean(losses)

    codes = _codes_fn(model)

    def evaluate(params, x):
        variables = {"params": params}
        logits = model.apply(variables, x)
        return codes(variables, x), jnp.argmax(logits, axis=-1).astype(jnp.int32)

    def init(key):
        return model.init(key, jnp.zeros((1, *x_shape), jnp.float32))["params"]

    return (
        jax.jit(jax.vmap(epoch, in_axes=(0, 0, 0, None, 0, 0, 0, 0))),
        jax.jit(jax.vmap(evaluate, in_axes=(0, None))),
        jax.jit(jax.vmap(opt.init)),
        jax.jit(jax.vmap(init)),
    )


def _model_inputs(spec: _Spec, key: jax.Array, y_train: np.ndarray, n_classes: int):
    """Keys, subset ranks and (noisy) labels of one model, from its seed."""
    k_init, k_noise, k_perm, k_epochs = jax.random.split(jax.random.fold_in(key, spec.seed), 4)
    n = y_train.shape[0]
    perm = np.asarray(jax.random.permutation(k_perm, n))
    rank = np.empty(n, np.int32)
    rank[perm] = np.arange(n, dtype=np.int32)
    y = y_train.astype(np.int32).copy()
    n_noisy = int(round(spec.label_noise * spec.n_train))
    if n_noisy:
        k_idx, k_lab = jax.random.split(k_noise)
        chosen = perm[np.asarray(jax.random.permutation(k_idx, spec.n_train))[:n_noisy]]
        y[chosen] = np.asarray(jax.random.randint(k_lab, (n_noisy,), 0, n_classes))
    return k_init, k_epochs, rank, y


def _shrink_mlp(params: Any, widths: jax.Array) -> Any:
    """Turn stacked width-``W`` MLP inits into width-``widths[i]`` inits, zero-padded.

    ``nets.MLP`` initializes kernels with LeCun's truncated normal (std ∝ 1/√fan_in,
    biases zero). The hidden kernel's fan-in is the input size for every width, so its
    first ``w`` columns are already a width-``w`` init; the head's fan-in is the width,
    so its first ``w`` rows are rescaled by √(W / w). The rest is set to zero.
    """
    hidden, head = params["hidden_0"], params["head"]
    big = hidden["kernel"].shape[-1]
    w = widths.astype(jnp.float32)
    mask = (jnp.arange(big)[None, :] < widths[:, None]).astype(jnp.float32)  # [M, W]
    scale = mask * jnp.sqrt(big / w)[:, None]
    return {
        "hidden_0": {"kernel": hidden["kernel"] * mask[:, None, :], "bias": hidden["bias"] * mask},
        "head": {"kernel": head["kernel"] * scale[:, :, None], "bias": head["bias"]},
    }


_shrink_mlp_jit = jax.jit(_shrink_mlp)


def _train_group(model, specs, data, key, config, epochs, on_epoch=None, *, init=None):
    """Train the models ``specs`` together (vmapped over models) and return their codes.

    All specs share ``model``'s shape. For MLP groups each spec's ``width`` is carved
    out of the padded model with exact zeros (:func:`_shrink_mlp`); ``init`` (stacked
    params) replaces the fresh initialization. ``on_epoch(epoch, spec, codes_tr,
    codes_te, pred_te, labels, subset)`` runs after every epoch for the models with
    ``track=True``. Returns one dict per spec: final train/test codes, test
    predictions, labels used, the training subset mask and the trained params.
    """
    x_tr, x_te = jnp.asarray(data.x_train), jnp.asarray(data.x_test)
    n = int(x_tr.shape[0])
    n_classes = int(max(data.y_train.max(), data.y_test.max())) + 1
    batch = min(config.batch_size, n)
    epoch_fn, eval_fn, opt_init, param_init = _compiled(
        model, tuple(x_tr.shape[1:]), n, n // batch, batch, config.learning_rate
    )
    init_keys, epoch_keys, ranks, labels = [], [], [], []
    for spec in specs:
        k_init, k_epochs, rank, y = _model_inputs(spec, key, np.asarray(data.y_train), n_classes)
        init_keys.append(k_init)
        epoch_keys.append(jax.random.split(k_epochs, epochs))
        ranks.append(rank)
        labels.append(y)
    if init is None:
        init = param_init(jnp.stack(init_keys))
        if "hidden_0" in init and len(init) == 2:  # a one-hidden-layer MLP: carve widths
            init = _shrink_mlp_jit(init, jnp.asarray([s.width for s in specs], jnp.int32))
    stacked = init
    opt_state = opt_init(stacked)
    ranks_d, labels_d = jnp.asarray(np.stack(ranks)), jnp.asarray(np.stack(labels))
    n_sub = jnp.asarray([s.n_train for s in specs], jnp.int32)
    wd = jnp.asarray([s.weight_decay for s in specs], jnp.float32)
    tracked = np.asarray([i for i, s in enumerate(specs) if s.track], np.int32)
    one = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), stacked)
    n_bits = _n_bits(model, one, x_tr.shape)
    epoch_keys = np.stack([np.asarray(jax.random.key_data(k)) for k in epoch_keys])
    for epoch in range(epochs):
        ek = jax.random.wrap_key_data(jnp.asarray(epoch_keys[:, epoch]))
        stacked, opt_state, _ = epoch_fn(stacked, opt_state, ek, x_tr, labels_d, ranks_d, n_sub, wd)
        if on_epoch is not None and tracked.size:
            sub = jax.tree.map(lambda a: a[tracked], stacked)
            c_tr = np.asarray(eval_fn(sub, x_tr)[0])
            c_te, p_te = (np.asarray(a) for a in eval_fn(sub, x_te))
            for j, i in enumerate(tracked):
                on_epoch(
                    epoch + 1,
                    specs[i],
                    PackedCodes(jnp.asarray(c_tr[j]), n_bits),
                    PackedCodes(jnp.asarray(c_te[j]), n_bits),
                    p_te[j],
                    labels[i],
                    ranks[i] < specs[i].n_train,
                )
    codes_tr = np.asarray(eval_fn(stacked, x_tr)[0])
    codes_te, pred_te = (np.asarray(a) for a in eval_fn(stacked, x_te))
    host_params = jax.tree.map(np.asarray, stacked)
    return [
        {
            "spec": spec,
            "train_codes": PackedCodes(jnp.asarray(codes_tr[i]), n_bits),
            "test_codes": PackedCodes(jnp.asarray(codes_te[i]), n_bits),
            "pred_test": pred_te[i],
            "labels": labels[i],
            "subset": ranks[i] < spec.n_train,
            "params": jax.tree.map(lambda a, i=i: a[i], host_params),
        }
        for i, spec in enumerate(specs)
    ]


def _n_bits(model, params, x_shape) -> int:
    x = jax.ShapeDtypeStruct((1, *x_shape[1:]), jnp.float32)
    out = jax.eval_shape(
        lambda p, x: model.apply({"params": p}, x, return_preactivations=True)[1], params, x
    )
    return int(sum(math.prod(p.shape[1:]) for p in out))


# ----------------------------------------------------------------------------- analysis


def _analyse(
    codes_tr, codes_te, y_tr, y_te, pred_te, config, key, *, full: bool, test_redundancy=True
) -> dict:
    """Redundancy and categorization on one model's codes (``full``: k-means and logreg too)."""
    from hamgeo.encoding import kmeans_accuracy, knn_accuracy, logreg_accuracy
    from hamgeo.regions import redundancy_ratio

    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    k = min(config.knn_k, codes_tr.shape[0])
    row = {
        "redundancy_train": float(redundancy_ratio(codes_tr)),
        "redundancy_test": float(redundancy_ratio(codes_te)) if test_redundancy else None,
        "knn_accuracy": knn_accuracy(codes_tr, y_tr, codes_te, y_te, k=k, n_classes=n_classes),
        "network_accuracy": float(np.mean(pred_te == y_te)),
    }
    if full:
        k_km, k_lr = jax.random.split(key)
        km = kmeans_accuracy(
            codes_te,
            y_te,
            n_clusters=n_classes,
            key=k_km,
            max_iterations=config.kmeans_iterations,
        )
        lr = logreg_accuracy(
            codes_tr,
            y_tr,
            codes_te,
            y_te,
            key=k_lr,
            n_classes=n_classes,
            l2=config.logreg_l2,
            n_steps=config.logreg_steps,
        )
        row.update(
            kmeans_accuracy=km.accuracy,
            kmeans_nmi=km.nmi,
            kmeans_converged=km.converged,
            logreg_accuracy=lr.test_accuracy,
            logreg_train_accuracy=lr.train_accuracy,
            logreg_converged=lr.converged,
        )
    return row


def _subset_codes(codes: PackedCodes, mask: np.ndarray) -> PackedCodes:
    return codes if mask.all() else codes[np.flatnonzero(mask)]


# ------------------------------------------------------------------------------- sweeps


def _mlp(n_classes: int, width: int):
    from hamgeo.nets import MLP

    return MLP((width,), n_classes)


def _cnn(n_classes: int, channels: tuple[int, ...], dense: tuple[int, ...]):
    from hamgeo.nets import CNN

    return CNN(channels, dense, n_classes)


def _identity(spec: _Spec) -> tuple:
    return (spec.width, spec.seed, spec.n_train, spec.weight_decay, spec.label_noise)


def _mlp_specs(config: Config, n: int, *, all_factors: bool) -> dict[str, list[_Spec]]:
    seeds = range(config.seeds)
    widths = tuple(sorted(set(config.widths) | {config.main_width}))
    if not all_factors and config.mnist1d_widths is not None:
        widths = tuple(sorted(set(config.mnist1d_widths)))
    sweeps = {
        "width": [
            _Spec("width", w, s, n, track=all_factors and w in config.time_widths)
            for w in widths
            for s in seeds
        ]
    }
    if all_factors:
        sizes = sorted({min(int(m), n) for m in config.sample_sizes})
        sweeps["sample_size"] = [
            _Spec("sample_size", w, s, m)
            for w in config.sample_widths
            for m in sizes
            for s in seeds
        ]
        fw = config.factor_width
        sweeps["weight_decay"] = [
            _Spec("weight_decay", fw, s, n, weight_decay=float(wd))
            for wd in config.weight_decays
            for s in seeds
        ]
        sweeps["label_noise"] = [
            _Spec("label_noise", fw, s, n, label_noise=float(p))
            for p in config.label_noises
            for s in seeds
        ]
    return sweeps


def _run_mlp_dataset(name: str, data, config: Config, key: jax.Array, *, all_factors: bool):
    """Every MLP sweep on one dataset; returns ``{sweep: rows}`` and the per-epoch rows."""
    n = int(data.x_train.shape[0])
    n_classes = int(max(data.y_train.max(), data.y_test.max())) + 1
    sweeps = _mlp_specs(config, n, all_factors=all_factors)
    unique: dict[tuple, _Spec] = {}
    for specs in sweeps.values():
        for spec in specs:
            old = unique.get(_identity(spec))
            unique[_identity(spec)] = spec if old is None or spec.track else old
    all_widths = tuple(s.width for s in unique.values())
    groups: dict[int, list[_Spec]] = {}
    for spec in unique.values():
        groups.setdefault(_bucket(spec.width, all_widths), []).append(spec)

    per_epoch: list[dict] = []
    y_te = np.asarray(data.y_test)

    def on_epoch(epoch, spec, c_tr, c_te, p_te, y_used, subset):
        row = _analyse(
            _subset_codes(c_tr, subset),
            c_te,
            y_used[subset],
            y_te,
            p_te,
            config,
            key,
            full=False,
            test_redundancy=False,
        )
        per_epoch.append(
            {"dataset": name, "width": spec.width, "seed": spec.seed, "epoch": epoch, **row}
        )

    trained: dict[tuple, dict] = {}
    for padded, specs in progress(sorted(groups.items()), desc=f"{name} MLPs"):
        results = _train_group(
            _mlp(n_classes, padded),
            specs,
            data,
            jax.random.fold_in(key, 1),
            config,
            config.epochs,
            on_epoch,
        )
        for res in results:
            trained[_identity(res["spec"])] = res

    analysed: dict[tuple, dict] = {}
    full_sweeps = {"width", "weight_decay", "label_noise"}
    tables: dict[str, list[dict]] = {}
    for sweep, specs in sweeps.items():
        rows = []
        for spec in specs:
            ident = _identity(spec)
            full = sweep in full_sweeps
            cached = analysed.get(ident)
            if cached is None or (full and "kmeans_accuracy" not in cached):
                res = trained[ident]
                cached = _analyse(
                    _subset_codes(res["train_codes"], res["subset"]),
                    res["test_codes"],
                    res["labels"][res["subset"]],
                    y_te,
                    res["pred_test"],
                    config,
                    jax.random.fold_in(key, spec.seed),
                    full=full,
                )
                analysed[ident] = cached
            rows.append(
                {
                    "dataset": name,
                    "model": "mlp",
                    "width": spec.width,
                    "seed": spec.seed,
                    "n_train": spec.n_train,
                    "weight_decay": spec.weight_decay,
                    "label_noise": spec.label_noise,
                    **cached,
                }
            )
        tables[sweep] = rows
    per_epoch.sort(key=lambda r: (r["width"], r["seed"], r["epoch"]))
    return tables, per_epoch


def _run_cnn_dataset(name: str, data, config: Config, key: jax.Array) -> list[dict]:
    n = int(data.x_train.shape[0])
    n_classes = int(max(data.y_train.max(), data.y_test.max())) + 1
    y_te = np.asarray(data.y_test)
    rows = []
    for channels in progress(config.cnn_channels, desc=f"{name} CNNs"):
        specs = [_Spec("cnn", int(channels[-1]), s, n) for s in range(config.seeds)]
        results = _train_group(
            _cnn(n_classes, tuple(channels), tuple(config.cnn_dense)),
            specs,
            data,
            jax.random.fold_in(key, 2),
            config,
            config.cnn_epochs,
        )
        for res in results:
            spec = res["spec"]
            row = _analyse(
                res["train_codes"],
                res["test_codes"],
                res["labels"],
                y_te,
                res["pred_test"],
                config,
                jax.random.fold_in(key, spec.seed),
                full=True,
            )
            rows.append(
                {
                    "dataset": name,
                    "model": "cnn",
                    "channels": list(channels),
                    "n_bits": res["train_codes"].n_bits,
                    "seed": spec.seed,
                    **row,
                }
            )
    return rows


def _capped(data, cap: int):
    if data.x_train.shape[0] <= cap:
        return data
    return dataclasses.replace(data, x_train=data.x_train[:cap], y_train=data.y_train[:cap])


def _load(name: str, config: Config, *, images: bool = False):
    from hamgeo import data as hdata

    if name == "digits":
        return hdata.digits(images=images)
    if name == "mnist1d":
        return hdata.mnist1d()
    if name == "mnist":
        return _capped(hdata.load_mnist(config.mnist_path), config.max_train)
    if name == "cifar10":
        return _capped(hdata.load_cifar10(config.cifar10_path, images=True), config.max_train)
    raise ValueError(f"unknown dataset {name!r}")  # pragma: no cover  (Config validates)


# ---------------------------------------------------------------------------- the result


def _mean(rows: list[dict], field: str) -> float:
    values = [r[field] for r in rows if r.get(field) is not None]
    return float(np.mean(values)) if values else float("nan")


@dataclasses.dataclass
class Result:
    """Everything :func:`run` measured.

    Attributes:
        config: the configuration run.
        tables: ``{sweep: rows}``; sweeps ``width`` (all datasets), ``sample_size``,
            ``weight_decay``, ``label_noise`` (digits), ``cnn``, and ``training_time``
            (one row per tracked model and epoch). Every row names its dataset, model,
            seed and factor values and holds ``redundancy_train``, ``redundancy_test``,
            ``knn_accuracy``, ``network_accuracy`` (and, where computed,
            ``kmeans_accuracy``, ``kmeans_nmi``, ``logreg_accuracy``).
        summary: the named scalars of ``results.json`` (see :meth:`to_dict`).
    """

    config: Config
    tables: dict[str, list[dict]]
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``results.json``: ``config``, ``summary`` and the sweep ``tables``."""
        return {
            "config": dataclasses.asdict(self.config),
            "summary": self.summary,
            "tables": self.tables,
        }


def _summary(tables: dict[str, list[dict]], config: Config) -> dict[str, Any]:
    width_rows = [r for r in tables["width"] if r["dataset"] == "digits"]
    main = [r for r in width_rows if r["width"] == config.main_width]
    summary: dict[str, Any] = {
        "main_width": config.main_width,
        "redundancy_ratio_train": _mean(main, "redundancy_train"),
        "redundancy_ratio_test": _mean(main, "redundancy_test"),
        "knn_accuracy": _mean(main, "knn_accuracy"),
        "kmeans_accuracy": _mean(main, "kmeans_accuracy"),
        "logreg_accuracy": _mean(main, "logreg_accuracy"),
        "network_accuracy": _mean(main, "network_accuracy"),
    }
    widths = sorted({r["width"] for r in width_rows})
    summary["redundancy_by_width"] = {
        str(w): _mean([r for r in width_rows if r["width"] == w], "redundancy_train")
        for w in widths
    }
    summary["regime_by_width"] = {w: regime(v) for w, v in summary["redundancy_by_width"].items()}
    return summary


def run(config: Config, key: jax.Array) -> Result:
    """Run every sweep of the hash-encoder study.

    Args:
        config: sizes (:class:`Config`; ``Config.quick()`` for a fast run).
        key: ``jax.random`` key; the same key gives the same :class:`Result`.

    Returns:
        :class:`Result`.

    Examples:
        >>> import jax
        >>> cfg = Config(datasets=("digits",), widths=(2,), main_width=2, seeds=1, epochs=1,
        ...              time_widths=(2,), sample_sizes=(1437,), sample_widths=(2,),
        ...              factor_width=2, weight_decays=(0.0,), label_noises=(0.0,),
        ...              cnn_channels=(), logreg_steps=5)
        >>> res = run(cfg, jax.random.key(0))
        >>> res.summary["redundancy_by_width"]["2"] > 0.99  # 2 units: at most 4 codes
        True
    """
    if not isinstance(config, Config):
        raise TypeError(f"`config` must be a hash_encoder.Config, got {type(config).__name__}")
    if not isinstance(key, jax.Array):
        raise TypeError(f"`key` must be a jax.random key, got {type(key).__name__}")
    datasets = list(config.datasets)
    if "digits" not in datasets:
        datasets.insert(0, "digits")  # the main configuration lives on digits
    if config.mnist_path is not None:
        datasets.append("mnist")
    tables: dict[str, list[dict]] = {"training_time": []}
    for i, name in enumerate(datasets):
        data = _load(name, config)
        sweeps, per_epoch = _run_mlp_dataset(
            name, data, config, jax.random.fold_in(key, i), all_factors=name == "digits"
        )
        for sweep, rows in sweeps.items():
            tables.setdefault(sweep, []).extend(rows)
        tables["training_time"].extend(per_epoch)
    cnn_sets = ["digits"] + (["cifar10"] if config.cifar10_path is not None else [])
    tables["cnn"] = []
    if config.cnn_channels:
        for j, name in enumerate(cnn_sets):
            data = _load(name, config, images=True)
            tables["cnn"].extend(
                _run_cnn_dataset(name, data, config, jax.random.fold_in(key, 100 + j))
            )
    return Result(config, tables, _summary(tables, config))


def plot(result: Result, out_dir) -> list[str]:
    """Draw the phase chart and one figure per factor; return the PNG paths.

    Args:
        result: what :func:`run` returned.
        out_dir: folder for the figures.

    Returns:
        Paths of ``hash_encoder_phase.png``, ``hash_encoder_width.png``,
        ``hash_encoder_training_time.png``, ``hash_encoder_sample_size.png``,
        ``hash_encoder_weight_decay.png`` and ``hash_encoder_label_noise.png``
        (those whose sweep ran).
    """
    from hamgeo.experiments._hash_encoder_plots import draw

    return draw(result, out_dir)
