"""ReLU networks whose activation codes hamgeo studies: an MLP, a VGG-style CNN, a residual CNN.

A ReLU network cuts its input space into polyhedral cells; the sign pattern of its
hidden pre-activations names the cell (the discriminability and hash-encoder papers,
[Discriminability] and [Hash-Encoders] in ``docs/references.md``). Every model here is
a ``flax.linen`` module with pure ``init`` / ``apply`` and the call signature shared by
all of ``hamgeo.nets``::

    model.apply(variables, x, train=False, return_preactivations=True)
        -> (logits [n, n_classes], [pre_1 [n, units_1], ..., pre_L [n, units_L]])

The pre-activations are returned explicitly (no ``sow``): ``pre_l`` is the input to
the l-th ReLU, convolutional maps flattened per example in ``[h, w, c]`` order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from hamgeo.nets._layers import Network, flatten, maybe_pool, spatial_input

__all__ = ["CNN", "MLP", "ResidualCNN"]


def _relu_dense_head(
    x: jax.Array, widths: Sequence[int], n_classes: int, pres: list[jax.Array]
) -> jax.Array:
    """Dense ReLU layers ``hidden_i`` then ``head`` (call inside a compact method)."""
    for i, width in enumerate(widths):
        z = nn.Dense(width, name=f"hidden_{i}")(x)
        pres.append(z)
        x = nn.relu(z)
    return nn.Dense(n_classes, name="head")(x)


class _ReLUNetwork(Network):
    """The call every ReLU model shares; a model builds its layers in ``_logits``."""

    # An activation-code bit is `pre > 0` (see hamgeo.nets.extract).
    codes_at_zero: ClassVar[bool] = False

    @nn.compact
    def __call__(
        self, x: jax.Array, train: bool = False, return_preactivations: bool = False
    ) -> Any:
        """Logits ``[n, n_classes]``, and the hidden pre-activations when asked."""
        del train  # no batch statistics or dropout
        pres: list[jax.Array] = []
        logits = self._logits(jnp.asarray(x), pres)
        return (logits, pres) if return_preactivations else logits

    def _logits(self, x: jax.Array, pres: list[jax.Array]) -> jax.Array:
        """The layers (inside ``__call__``): logits, each pre-activation appended to ``pres``."""
        raise NotImplementedError(f"{type(self).__name__} must define _logits (each model does)")


class MLP(_ReLUNetwork):
    """A ReLU multilayer perceptron.

    Hidden ``nn.Dense`` layers are named ``hidden_0``, ``hidden_1``, ... and the
    output layer ``head`` (kernels ``[in, out]``, biases ``[out]``), ReLU between.
    Inputs with more than two axes are flattened per example.

    Attributes:
        widths: hidden layer widths, e.g. ``(256, 256)``.
        n_classes: number of output logits.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> model = MLP((5, 3), 2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 4)))
        >>> logits, pre = model.apply(variables, jnp.ones((7, 4)), return_preactivations=True)
        >>> logits.shape, [p.shape for p in pre]
        ((7, 2), [(7, 5), (7, 3)])
    """

    widths: Sequence[int]
    n_classes: int

    _sequences = ("widths",)

    def _logits(self, x: jax.Array, pres: list[jax.Array]) -> jax.Array:
        return _relu_dense_head(flatten(x), self.widths, self.n_classes, pres)


class CNN(_ReLUNetwork):
    """A VGG-style ReLU convolutional network for images or 1-D signals.

    ``conv_i``: 3×3 (or width-3 for signals) convolutions with ReLU, a 2-wide
    max-pool after every ``pool_every`` of them (axes shorter than 2 are not
    pooled), then dense ReLU layers ``hidden_i`` and the output layer ``head``.
    Inputs: images ``[n, H, W, C]``, or signals ``[n, L]`` / ``[n, L, C]`` (MNIST-1D).

    Pre-activations: each convolution's output (before its ReLU and pool) flattened
    per example, then each dense layer's.

    Attributes:
        channels: output channels of the convolutions, e.g. ``(32, 64)``.
        dense: widths of the dense ReLU layers after the convolutions.
        n_classes: number of output logits.
        pool_every: max-pool after every this many convolutions.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> model = CNN((4, 6), (5,), 3)
        >>> x = jnp.ones((2, 8, 8, 1))
        >>> variables = model.init(jax.random.key(0), x)
        >>> logits, pre = model.apply(variables, x, return_preactivations=True)
        >>> logits.shape, [p.shape for p in pre]
        ((2, 3), [(2, 256), (2, 96), (2, 5)])
    """

    channels: Sequence[int]
    dense: Sequence[int]
    n_classes: int
    pool_every: int = 1

    _sequences = ("channels", "dense")
    _pooled = True

    def _logits(self, x: jax.Array, pres: list[jax.Array]) -> jax.Array:
        x = spatial_input(x)
        kernel = (3,) * (x.ndim - 2)
        for i, c in enumerate(self.channels):
            z = nn.Conv(c, kernel, padding="SAME", name=f"conv_{i}")(x)
            pres.append(flatten(z))
            x = nn.relu(z)
            if (i + 1) % self.pool_every == 0:
                x = maybe_pool(x)
        return _relu_dense_head(flatten(x), self.dense, self.n_classes, pres)


class ResidualCNN(_ReLUNetwork):
    """A small residual ReLU CNN: one residual block per entry of ``channels``.

    Block ``i``: ``a = conv(x)`` (``block_i_a``), ``b = conv(relu(a))``
    (``block_i_b``), output ``relu(skip + b)`` with ``skip = x`` or a 1×1 projection
    ``proj_i`` when the channel count changes, then a 2-wide max-pool. Dense ReLU
    layers ``hidden_i`` and ``head`` follow. Pre-activations per block: ``a`` and
    ``skip + b`` (the inputs to its two ReLUs), flattened per example.

    Attributes:
        channels: channels of the residual blocks.
        dense: widths of the dense ReLU layers.
        n_classes: number of output logits.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> model = ResidualCNN((4,), (5,), 3)
        >>> x = jnp.ones((2, 12))
        >>> variables = model.init(jax.random.key(0), x)
        >>> [p.shape for p in model.apply(variables, x, return_preactivations=True)[1]]
        [(2, 48), (2, 48), (2, 5)]
    """

    channels: Sequence[int]
    dense: Sequence[int]
    n_classes: int

    _sequences = ("channels", "dense")

    def _logits(self, x: jax.Array, pres: list[jax.Array]) -> jax.Array:
        x = spatial_input(x)
        kernel = (3,) * (x.ndim - 2)
        for i, c in enumerate(self.channels):
            skip = x if x.shape[-1] == c else nn.Conv(c, (1,) * len(kernel), name=f"proj_{i}")(x)
            a = nn.Conv(c, kernel, padding="SAME", name=f"block_{i}_a")(x)
            pres.append(flatten(a))
            s = skip + nn.Conv(c, kernel, padding="SAME", name=f"block_{i}_b")(nn.relu(a))
            pres.append(flatten(s))
            x = maybe_pool(nn.relu(s))
        return _relu_dense_head(flatten(x), self.dense, self.n_classes, pres)
