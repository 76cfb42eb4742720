"""Training the study's networks, and their codes.

The trainer is [`hamgeo.nets.train_many`][hamgeo.nets.train_many].

Every network is trained by hamgeo's public batched trainer: the networks of one seed
that share a shape go through one [`train_many`][hamgeo.nets.train_many] call (``jax.vmap``
over models inside one compiled epoch), each with its own weight decay, label noise and
training subset. One-hidden-layer MLPs of different widths share a shape through
[`mask_mlp_widths`][hamgeo.nets.mask_mlp_widths] (exact zeros: a width-``w`` net inside a wider one
trains as the width-``w`` net, its extra code bits stay 0). Widths up to 64 train at
width 64, wider ones at the run's widest; a narrow net's initialization is the rescaled
first columns of the padded one's (distributed as its own, see
[`mask_mlp_widths`][hamgeo.nets.mask_mlp_widths]). Codes are handed on padded with zero words to
a power of two of at least 2 words (64 bits), so that the measures on codes compile
once per code size class: zero bits change no Hamming distance, no count of distinct
codes, no k-means step and not the logistic regression's optimum.

Keys: a network's initialization comes from its seed and its architecture only, so the
networks of the weight-decay, label-noise and sample-size sweeps that share an
architecture start from the same weights (paired comparisons); its label noise and
mini-batch order come from its seed and its whole ``ModelSpec``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo.codes import PackedCodes
from hamgeo.data import Dataset
from hamgeo.experiments.hash_encoder._config import Config
from hamgeo.experiments.hash_encoder._sweeps import ModelSpec
from hamgeo.nets import (
    CNN,
    MLP,
    ResidualCNN,
    accuracy_many,
    activation_codes_many,
    init_many,
    train_many,
)

__all__ = ["NetState", "TrainedNet", "stable_id", "train_specs"]


class NetState(NamedTuple):
    """One network at one moment (initialization, an epoch, the end of training).

    Attributes:
        codes_train: codes of the examples it trains on (its subset).
        codes_test: codes of the test examples.
        network_accuracy: its own (train, test) accuracy; train on its training labels.
        n_bits: the network's hidden units. A narrower MLP trained inside a padded one
            keeps its dead units' bits in the codes: they are 0 in every code, so they
            change no Hamming distance, no count of distinct codes, no k-means step and
            not the logistic regression's optimum, and equal code shapes share
            compilations.
    """

    codes_train: PackedCodes
    codes_test: PackedCodes
    network_accuracy: tuple[float, float]
    n_bits: int


class TrainedNet(NamedTuple):
    """A network of the study before and after training.

    Attributes:
        spec: which network.
        init: the network at initialization.
        trained: the same network after training.
        labels: the training labels it used (its subset, label noise included).
        finite: whether its loss and parameters stayed finite.
    """

    spec: ModelSpec
    init: NetState
    trained: NetState
    labels: np.ndarray
    finite: bool


def stable_id(*parts: Any) -> int:
    """A run-independent 31-bit integer naming ``parts`` (for ``jax.random.fold_in``).

    Examples:
        >>> stable_id("mlp", (64,)) == stable_id("mlp", (64,)), 0 <= stable_id(1) < 2**31
        (True, True)
    """
    return zlib.crc32(repr(parts).encode()) & 0x7FFFFFFF


def _padded_width(width: int, widest: int) -> int:
    """The width a one-hidden-layer MLP trains at: 64 up to 64, else ``widest``."""
    return 64 if width <= 64 else widest


def _model(spec: ModelSpec, n_classes: int, config: Config, widest: int) -> tuple[Any, int]:
    """The (padded) model a network trains as, and its epochs."""
    if spec.arch == "vgg":
        return CNN(spec.hidden, config.cnn_dense, n_classes), config.cnn_epochs
    if spec.arch == "resnet":
        return ResidualCNN(spec.hidden, config.cnn_dense, n_classes), config.cnn_epochs
    if len(spec.hidden) == 1:
        return MLP((_padded_width(spec.hidden[0], widest),), n_classes), config.epochs
    return MLP(spec.hidden, n_classes), config.epochs


class _Group(NamedTuple):
    model: Any
    specs: list[ModelSpec]
    data: Dataset
    x_all: np.ndarray  # training then test inputs, one pass for the codes
    masks: np.ndarray  # bool[k, n]
    n_bits: list[int]  # hidden units per model (-1: all of the model's)


def _states(group: _Group, variables: Any, labels: np.ndarray, rows: Sequence[int]) -> list:
    """``NetState`` of the models ``rows`` of a group's stacked ``variables``.

    Codes are sliced on the host (NumPy), and both accuracies go through one compiled
    count on the training and test inputs together: few compilations per group.
    """
    rows = list(rows)
    sub = variables
    if rows != list(range(len(group.specs))):
        sub = jax.tree.map(lambda a: a[np.asarray(rows)], variables)
    codes = activation_codes_many(group.model, sub, group.x_all)
    words = np.asarray(codes.words)
    n, n_all = group.data.x_train.shape[0], group.x_all.shape[0]
    masks = group.masks[rows]
    y_all = np.zeros((len(rows), n_all), np.int32)
    y_all[:, :n] = labels[rows]
    y_all[:, n:] = np.asarray(group.data.y_test)
    in_train = np.zeros((len(rows), n_all), bool)
    in_train[:, :n] = masks
    in_test = np.zeros(n_all, bool)
    in_test[n:] = True
    acc_train = accuracy_many(group.model, sub, group.x_all, y_all, mask=in_train)
    acc_test = accuracy_many(group.model, sub, group.x_all, y_all, mask=in_test)
    target = max(2, 1 << (words.shape[-1] - 1).bit_length())
    words = np.pad(words, [(0, 0), (0, 0), (0, target - words.shape[-1])])
    out = []
    for j, i in enumerate(rows):
        train = words[j, :n] if masks[j].all() else words[j, :n][masks[j]]
        accuracy = (float(acc_train[j]), float(acc_test[j]))
        bits = group.n_bits[i] if group.n_bits[i] > 0 else codes.n_bits
        codes_train, codes_test = (
            PackedCodes(train, 32 * target),
            PackedCodes(words[j, n:], 32 * target),
        )
        out.append(NetState(codes_train, codes_test, accuracy, bits))
    return out


def train_specs(
    specs: Sequence[ModelSpec],
    flat: Dataset,
    images: Dataset | None,
    config: Config,
    seed_key: jax.Array,
    *,
    tracked: frozenset[ModelSpec] = frozenset(),
    on_epoch: Callable[[int, ModelSpec, NetState, np.ndarray], None] | None = None,
) -> dict[ModelSpec, TrainedNet]:
    """Train every network of one seed; return each before and after training.

    Args:
        specs: the networks (distinct).
        flat: the data set with flat inputs (MLPs).
        images: the same data set as images (convolutional nets), or ``None``.
        config: the study's configuration (epochs, batch size, learning rate).
        seed_key: the seed's key.
        tracked: the networks whose state is reported after every epoch.
        on_epoch: ``on_epoch(epoch, spec, state, labels)`` for each tracked network.

    Returns:
        ``{spec: TrainedNet}``.
    """
    n = int(flat.x_train.shape[0])
    n_classes = int(max(flat.y_train.max(), flat.y_test.max())) + 1
    perm = np.asarray(jax.random.permutation(jax.random.fold_in(seed_key, stable_id("subset")), n))
    rank = np.empty(n, np.int64)
    rank[perm] = np.arange(n)
    widest = max([s.hidden[0] for s in specs if s.arch == "mlp" and len(s.hidden) == 1] or [1])
    groups: dict[tuple[Any, int], list[ModelSpec]] = {}
    for spec in specs:
        groups.setdefault(_model(spec, n_classes, config, widest), []).append(spec)

    out: dict[ModelSpec, TrainedNet] = {}
    for (model, epochs), members in groups.items():
        data = flat if members[0].arch == "mlp" else images
        if data is None:
            raise ValueError(f"{members[0].arch} networks need the image data set; none was given")
        masks = np.stack([rank < s.n_train for s in members])
        n_bits = [s.hidden[0] if s.arch == "mlp" and len(s.hidden) == 1 else -1 for s in members]
        x_all = np.concatenate([data.x_train, data.x_test])
        group = _Group(model, members, data, x_all, masks, n_bits)
        out.update(_train_group(group, epochs, config, seed_key, tracked, on_epoch))
    return out


def _train_group(
    group: _Group,
    epochs: int,
    config: Config,
    seed_key: jax.Array,
    tracked: frozenset[ModelSpec],
    on_epoch: Callable[[int, ModelSpec, NetState, np.ndarray], None] | None,
) -> dict[ModelSpec, TrainedNet]:
    """One [`train_many`][hamgeo.nets.train_many] call: the same-shaped networks of a seed."""
    model, members, data, masks = group.model, group.specs, group.data, group.masks
    init_keys = [jax.random.fold_in(seed_key, stable_id("init", s.arch, s.hidden)) for s in members]
    widths = None
    if isinstance(model, MLP) and len(model.widths) == 1:
        widths = np.asarray([s.hidden[0] for s in members], np.int32)
    init = init_many(model, data.x_train[:1], keys=jnp.stack(init_keys), widths=widths)
    track_rows = [i for i, s in enumerate(members) if s in tracked]
    if any(members[i].label_noise for i in track_rows):
        raise ValueError("tracked networks train on clean labels")  # pragma: no cover
    clean = np.broadcast_to(np.asarray(data.y_train, np.int32), masks.shape)
    everyone = list(range(len(members)))

    def callback(epoch: int, variables: Any) -> None:
        if on_epoch is None:
            return
        # All of the group's models, so the compiled evaluation is the final one's.
        states = _states(group, variables, clean, everyone)
        for i in track_rows:
            on_epoch(epoch, members[i], states[i], clean[i][masks[i]])

    result = train_many(
        model,
        data,
        keys=jnp.stack([jax.random.fold_in(seed_key, stable_id(*s)) for s in members]),
        epochs=epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=np.asarray([s.weight_decay for s in members], np.float32),
        label_noise=np.asarray([s.label_noise for s in members], np.float32),
        variables=init,
        train_mask=None if masks.all() else masks,
        evaluate=False,
        callback=callback if track_rows and on_epoch is not None else None,
    )
    labels = np.asarray(result.labels)
    before = _states(group, init, labels, everyone)
    after = _states(group, result.variables, labels, everyone)
    return {
        spec: TrainedNet(spec, before[i], after[i], labels[i][masks[i]], bool(result.finite[i]))
        for i, spec in enumerate(members)
    }
