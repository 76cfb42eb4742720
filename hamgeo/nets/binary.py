"""Binarized neural networks trained the BinaryNet way (Courbariaux, Hubara et al. 2016).

The recipe as the BNN-geometry paper (``bnn_geometry.txt``, Fig. 1) describes it:

* every binary layer keeps **latent real weights** ``W_c`` and uses ``W_b = sign(W_c)``
  in the forward pass; gradients flow to ``W_c`` straight through the sign;
* the **activations** are binarized the same way, ``sign(x)`` forward and the
  straight-through estimator ``g·1{|x| ≤ 1}`` backward ([`sign_ste`][hamgeo.nets.binary.sign_ste]);
* **batch norm** follows every binary layer; the first layer takes the real input. The
  BNN-geometry paper (Sec. 5.1) uses "batch norm without subtracting the mean": the
  default ``norm="no-mean"`` of [`BinaryMLP`][hamgeo.nets.binary.BinaryMLP] /
  [`BinaryCNN`][hamgeo.nets.binary.BinaryCNN] is
  [`NoMeanBatchNorm`][hamgeo.nets.binary.NoMeanBatchNorm]; ``norm="standard"`` is flax's centred
  ``BatchNorm``;
* after every update the latent weights are **clipped** to ``[-1, 1]``
  ([`clip_latent_weights`][hamgeo.nets.binary.clip_latent_weights], which
  [`train`][hamgeo.nets.train.train] appends for you).

``sign(0) = +1`` throughout. The activation code of a BNN is its binarized
activations (bit 1 where the activation is +1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from hamgeo._checks import check_finite_array, check_float, check_positive_int
from hamgeo.nets._layers import Network, as_widths, flatten, maybe_pool, spatial_input

__all__ = [
    "BinaryCNN",
    "BinaryConv",
    "BinaryDense",
    "BinaryLayerIO",
    "BinaryMLP",
    "NoMeanBatchNorm",
    "Norm",
    "binary_layer_io",
    "clip_latent_weights",
    "has_latent_weights",
    "sign_ste",
]

LATENT = "latent_kernel"

Norm = Literal["no-mean", "standard"]
_NORMS = ("no-mean", "standard")


def _sign(x: jax.Array) -> jax.Array:
    return jnp.where(x >= 0, jnp.ones_like(x), -jnp.ones_like(x))


def sign_ste(x: jax.Array) -> jax.Array:
    """Sign with the straight-through estimator: forward ``sign(x)``, backward ``g·1{|x| ≤ 1}``.

    ``sign(0) = +1``. The backward pass is the "hard tanh" straight-through
    estimator of BinaryNet: the gradient passes unchanged where ``|x| ≤ 1`` and is
    cancelled elsewhere.

    Traceable: jit, vmap, grad

    Args:
        x: a real array (outside ``jax.jit``, finite: NaN has no sign).

    Returns:
        ``±1`` in ``x``'s dtype and shape.

    Raises:
        TypeError: ``x`` is not a real array (complex, strings, ragged lists).
        ValueError: ``x`` holds NaN or inf (checked on concrete arrays only).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> x = jnp.array([-2.0, -0.5, 0.0, 0.5, 2.0])
        >>> sign_ste(x).tolist()
        [-1.0, -1.0, 1.0, 1.0, 1.0]
        >>> jax.grad(lambda v: sign_ste(v).sum())(x).tolist()
        [0.0, 1.0, 1.0, 1.0, 0.0]
    """
    # A concrete array closed over by a jitted function is still concrete: check its
    # values at trace time (compile-time evaluation) rather than build a traced bool.
    with jax.ensure_compile_time_eval():
        arr = check_finite_array(x, "x", kind="fiu")
    return _sign_ste(arr if isinstance(arr, jax.Array) else jnp.asarray(arr))


@jax.custom_vjp
def _sign_ste(x: jax.Array) -> jax.Array:
    """[`sign_ste`][hamgeo.nets.binary.sign_ste] on a checked array (the custom-VJP core)."""
    return _sign(x)


def _sign_fwd(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return _sign(x), x


def _sign_bwd(x: jax.Array, g: jax.Array) -> tuple[jax.Array]:
    return (jnp.where(jnp.abs(x) <= 1, g, jnp.zeros_like(g)),)


_sign_ste.defvjp(_sign_fwd, _sign_bwd)


class BinaryDense(nn.Module):
    """Dense layer with binary weights: ``y = x · sign(W_c)``, no bias (batch norm follows).

    The parameter ``latent_kernel`` ``[in, features]`` holds the latent real weights
    ``W_c`` (Glorot-uniform initialization, inside ``[-1, 1]``).

    Attributes:
        features: output units, a positive integer (checked at construction).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> layer = BinaryDense(3)
        >>> variables = layer.init(jax.random.key(0), jnp.ones((1, 4)))
        >>> y = layer.apply(variables, jnp.ones((2, 4)))
        >>> w = variables["params"]["latent_kernel"]
        >>> bool((y == jnp.ones((2, 4)) @ jnp.where(w >= 0, 1.0, -1.0)).all())
        True
    """

    features: int

    def __post_init__(self) -> None:
        check_positive_int(self.features, "features")
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """``x · sign(W_c)``, ``[n, in]`` → ``[n, features]``."""
        kernel = self.param(
            LATENT, nn.initializers.glorot_uniform(), (x.shape[-1], self.features), jnp.float32
        )
        return x @ _sign_ste(kernel)


class BinaryConv(nn.Module):
    """Convolution with binary weights: ``y = x ⋆ sign(W_c)``, "SAME" zero padding, no bias.

    Works on 1-D ``[n, L, C]`` and 2-D ``[n, H, W, C]`` inputs; ``latent_kernel``
    ``[*kernel_size, C, features]`` holds the latent real weights.

    Attributes:
        features: output channels, a positive integer (checked at construction).
        kernel_size: the window, e.g. ``(3, 3)`` or ``(3,)``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> layer = BinaryConv(4, (3, 3))
        >>> variables = layer.init(jax.random.key(0), jnp.ones((1, 5, 5, 2)))
        >>> layer.apply(variables, jnp.ones((2, 5, 5, 2))).shape
        (2, 5, 5, 4)
    """

    features: int
    kernel_size: Sequence[int]

    def __post_init__(self) -> None:
        check_positive_int(self.features, "features")
        object.__setattr__(self, "kernel_size", as_widths(self.kernel_size, "kernel_size"))
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """``x ⋆ sign(W_c)``, ``[n, *spatial, C]`` → ``[n, *spatial, features]``."""
        nd = len(self.kernel_size)
        if x.ndim != nd + 2:
            raise ValueError(
                f"`x` must have {nd + 2} axes for a {nd}-D convolution, got shape {x.shape}"
            )
        kernel = self.param(
            LATENT,
            nn.initializers.glorot_uniform(),
            (*self.kernel_size, x.shape[-1], self.features),
            jnp.float32,
        )
        spatial = "HW"[:nd] if nd <= 2 else None
        if spatial is None:
            raise ValueError(f"`kernel_size` must be 1-D or 2-D, got {self.kernel_size}")
        dims = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
        return jax.lax.conv_general_dilated(
            x, _sign_ste(kernel), (1,) * nd, "SAME", dimension_numbers=dims
        )


class BinaryLayerIO(NamedTuple):
    """The inputs, weights and outputs of one binary layer (for the BNN-geometry study).

    Attributes:
        kind: ``"dense"`` or ``"conv"``.
        inputs: the layer's input: the real data for the first layer, ``±1``
            binarized activations after.
        inputs_continuous: the values the input's signs were taken of (batch-norm
            outputs of the previous layer); for the first layer equal to ``inputs``.
        latent_kernel: the latent real weights ``W_c`` (the layer's kernel shape).
        binary_kernel: ``sign(W_c)``.
        preactivations: ``inputs · binary_kernel``, before batch norm (``[n, units]``
            for dense, ``[n, *spatial, channels]`` for conv layers, before pooling).
        name: the layer's name (``conv_i``, ``hidden_i`` or ``head``).
    """

    kind: str
    inputs: jax.Array
    inputs_continuous: jax.Array
    latent_kernel: jax.Array
    binary_kernel: jax.Array
    preactivations: jax.Array
    name: str = ""


class NoMeanBatchNorm(nn.Module):
    """Batch norm without subtracting the mean: ``y = scale * x / sqrt(E[x^2] + eps) + bias``.

    The BNN-geometry paper's normalization (Anderson & Berg, Sec. 5.1: "we use batch
    norm without subtracting the mean"): each feature is divided by the root mean
    square of its values over the batch (all axes but the last), never centred, so
    the output is invariant to rescaling the input (``L(v) = L(kv)`` in the paper)
    and ``sign(y)`` follows ``sign(x)`` up to the learned offset ``bias``. The paper
    names no formula; hamgeo reads "without subtracting the mean" as: no mean
    anywhere, i.e. the second moment ``E[x^2]`` instead of the variance
    ``E[(x - E x)^2]``, with the learned ``scale`` and ``bias`` of ordinary batch
    norm kept. In evaluation mode the running average of ``E[x^2]`` (updated in
    training as ``momentum * old + (1 - momentum) * batch``, not at initialization)
    replaces the batch's. (The authors' public code, by contrast, calls TensorFlow's
    centred ``batch_norm``; ``norm="standard"`` in the models is that choice.)

    Attributes:
        use_running_average: use the running second moment (evaluation) instead of
            the batch's; may also be passed to ``__call__``.
        momentum: decay of the running average.
        epsilon: added to the second moment before the square root.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> bn = NoMeanBatchNorm(use_running_average=False)
        >>> x = jnp.array([[1.0, 2.0], [3.0, -2.0]])
        >>> variables = bn.init(jax.random.key(0), x)
        >>> y, updates = bn.apply(variables, x, mutable=["batch_stats"])
        >>> [round(float(v), 3) for v in y[:, 0]], [round(float(v), 3) for v in y[:, 1]]
        ([0.447, 1.342], [1.0, -1.0])
        >>> [round(float(v), 3) for v in updates["batch_stats"]["mean_square"]]
        [1.4, 1.3]
    """

    use_running_average: bool | None = None
    momentum: float = 0.9
    epsilon: float = 1e-4

    @nn.compact
    def __call__(self, x: jax.Array, use_running_average: bool | None = None) -> jax.Array:
        """Normalize ``x`` ``[..., features]`` feature by feature."""
        use_running_average = nn.merge_param(
            "use_running_average", self.use_running_average, use_running_average
        )
        features = x.shape[-1]
        running = self.variable(
            "batch_stats", "mean_square", lambda: jnp.ones((features,), jnp.float32)
        )
        scale = self.param("scale", nn.initializers.ones, (features,), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
        if use_running_average:
            mean_square = running.value
        else:
            axes = tuple(range(x.ndim - 1))
            mean_square = jnp.mean(jnp.square(x.astype(jnp.float32)), axis=axes)
            if not self.is_initializing():
                running.value = self.momentum * running.value + (1 - self.momentum) * mean_square
        shape = (1,) * (x.ndim - 1) + (features,)  # explicit: rank promotion may be off
        y = x * jnp.reshape(jax.lax.rsqrt(mean_square + self.epsilon), shape)
        return (y * jnp.reshape(scale, shape) + jnp.reshape(bias, shape)).astype(x.dtype)


def _batch_norm(norm: str, train: bool, name: str) -> nn.Module:
    # BinaryNet's settings: running averages with momentum 0.9, epsilon 1e-4.
    if norm == "no-mean":
        return NoMeanBatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-4, name=name)
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-4, name=name)


def _io(kind: str, layer: nn.Module, x: jax.Array, xc: jax.Array, z: jax.Array) -> BinaryLayerIO:
    w = layer.variables["params"][LATENT]
    return BinaryLayerIO(kind, x, xc, w, _sign(w), z, layer.name or "")


def _binary_dense_head(
    x: jax.Array,
    xc: jax.Array,
    widths: Sequence[int],
    n_classes: int,
    norm: str,
    train: bool,
    pres: list[jax.Array],
    ios: list[BinaryLayerIO],
) -> jax.Array:
    """``hidden_i`` (binary dense → batch norm → sign), then ``head`` → ``bn_head``.

    Call inside a compact method; ``x`` is the layer input, ``xc`` its continuous values.
    """
    for i, width in enumerate(widths):
        layer = BinaryDense(width, name=f"hidden_{i}")
        z = layer(x)
        ios.append(_io("dense", layer, x, xc, z))
        h = _batch_norm(norm, train, f"bn_{i}")(z)
        pres.append(h)
        x, xc = _sign_ste(h), h
    head = BinaryDense(n_classes, name="head")
    z = head(x)
    ios.append(_io("dense", head, x, xc, z))
    return _batch_norm(norm, train, "bn_head")(z)


class _BinaryNetwork(Network):
    """The call every binary model shares; a model builds its layers in ``_logits``."""

    # The code bit is sign(pre) = +1, i.e. pre >= 0 (sign(0) = +1).
    codes_at_zero: ClassVar[bool] = True
    _choices = {"norm": _NORMS}

    @nn.compact
    def __call__(
        self,
        x: jax.Array,
        train: bool = False,
        return_preactivations: bool = False,
        return_layer_io: bool = False,
    ) -> Any:
        """Logits ``[n, n_classes]``; also the pre-activations or the per-layer I/O when asked."""
        pres: list[jax.Array] = []
        ios: list[BinaryLayerIO] = []
        logits = self._logits(jnp.asarray(x), train, pres, ios)
        if return_layer_io:
            return logits, ios
        return (logits, pres) if return_preactivations else logits

    def _logits(
        self, x: jax.Array, train: bool, pres: list[jax.Array], ios: list[BinaryLayerIO]
    ) -> jax.Array:
        """The layers (inside ``__call__``): logits; pre-activations and layer I/O appended."""
        raise NotImplementedError(f"{type(self).__name__} must define _logits (each model does)")


class BinaryMLP(_BinaryNetwork):
    """A BinaryNet multilayer perceptron.

    ``hidden_i``: [`BinaryDense`][hamgeo.nets.binary.BinaryDense] → batch norm (``bn_i``) →
    [`sign_ste`][hamgeo.nets.binary.sign_ste]; ``head``:
    [`BinaryDense`][hamgeo.nets.binary.BinaryDense] → batch norm (``bn_head``) → logits. The first
    layer takes the real (flattened) input; later layers take ``±1`` activations. Pre-activations
    ([`preactivations`][hamgeo.nets.extract.preactivations]) are the batch-norm outputs whose signs
    are the binarized activations.

    Attributes:
        widths: hidden layer widths, e.g. ``(512, 512, 512)``.
        n_classes: number of output logits.
        norm: ``"no-mean"`` ([`NoMeanBatchNorm`][hamgeo.nets.binary.NoMeanBatchNorm], the
            BNN-geometry paper's batch norm without mean subtraction; the default) or ``"standard"``
            (flax's centred ``BatchNorm``, the BinaryNet paper's).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> model = BinaryMLP((8, 8), 3)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 5)))
        >>> sorted(variables)
        ['batch_stats', 'params']
        >>> logits, pre = model.apply(variables, jnp.ones((2, 5)), return_preactivations=True)
        >>> logits.shape, [p.shape for p in pre]
        ((2, 3), [(2, 8), (2, 8)])
    """

    widths: Sequence[int]
    n_classes: int
    norm: Norm = "no-mean"

    _sequences = ("widths",)

    def _logits(
        self, x: jax.Array, train: bool, pres: list[jax.Array], ios: list[BinaryLayerIO]
    ) -> jax.Array:
        x = flatten(x)
        return _binary_dense_head(x, x, self.widths, self.n_classes, self.norm, train, pres, ios)


class BinaryCNN(_BinaryNetwork):
    """A BinaryNet convolutional network (images ``[n, H, W, C]`` or signals ``[n, L(, C)]``).

    ``conv_i``: [`BinaryConv`][hamgeo.nets.binary.BinaryConv] (3×3, or width 3 for signals) → 2-wide
    max-pool after every ``pool_every`` convolutions → batch norm →
    [`sign_ste`][hamgeo.nets.binary.sign_ste]; then ``hidden_i``:
    [`BinaryDense`][hamgeo.nets.binary.BinaryDense] → batch norm → sign; ``head``:
    [`BinaryDense`][hamgeo.nets.binary.BinaryDense] → batch norm → logits (the layout of the
    BNN-geometry paper's CIFAR-10 network, at any size). Pre-activations are the batch-norm outputs,
    convolutional maps flattened per example.

    Attributes:
        channels: output channels of the binary convolutions.
        dense: widths of the binary dense layers.
        n_classes: number of output logits.
        pool_every: max-pool after every this many convolutions.
        norm: ``"no-mean"`` (the default, [`NoMeanBatchNorm`][hamgeo.nets.binary.NoMeanBatchNorm])
            or ``"standard"``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> model = BinaryCNN((4,), (6,), 3)
        >>> x = jnp.ones((2, 8, 8, 1))
        >>> variables = model.init(jax.random.key(0), x)
        >>> [p.shape for p in model.apply(variables, x, return_preactivations=True)[1]]
        [(2, 64), (2, 6)]
    """

    channels: Sequence[int]
    dense: Sequence[int]
    n_classes: int
    pool_every: int = 1
    norm: Norm = "no-mean"

    _sequences = ("channels", "dense")
    _pooled = True

    def _logits(
        self, x: jax.Array, train: bool, pres: list[jax.Array], ios: list[BinaryLayerIO]
    ) -> jax.Array:
        x = spatial_input(x)
        xc = x
        kernel = (3,) * (x.ndim - 2)
        for i, c in enumerate(self.channels):
            layer = BinaryConv(c, kernel, name=f"conv_{i}")
            z = layer(x)
            ios.append(_io("conv", layer, x, xc, z))
            if (i + 1) % self.pool_every == 0:
                z = maybe_pool(z)
            h = _batch_norm(self.norm, train, f"bn_conv_{i}")(z)
            pres.append(flatten(h))
            x, xc = _sign_ste(h), h
        return _binary_dense_head(
            flatten(x), flatten(xc), self.dense, self.n_classes, self.norm, train, pres, ios
        )


def binary_layer_io(model: nn.Module, variables: Any, x: Any) -> list[BinaryLayerIO]:
    """Per binary layer: its input, continuous input, latent and binary weights, pre-activations.

    What the BNN-geometry study needs to compare ``x · W_b`` with ``x · W_c`` layer by
    layer ([BNN-Geometry], Fig. 3, see ``docs/references.md``) and the activation
    variant ``W_b · x_b`` vs ``W_b · x_c``. Evaluation mode (running batch statistics).

    Traceable: jit, vmap, grad

    Args:
        model: a [`BinaryMLP`][hamgeo.nets.binary.BinaryMLP] or
            [`BinaryCNN`][hamgeo.nets.binary.BinaryCNN].
        variables: its variables.
        x: inputs ``[n, ...]``, finite real numbers.

    Returns:
        One [`BinaryLayerIO`][hamgeo.nets.binary.BinaryLayerIO] per binary layer in order
        (convolutions, hidden dense layers, then ``head``).

    Raises:
        TypeError: ``model`` is not a binary network; ``x`` is not a real array.
        ValueError: ``x`` has NaN or inf, or fewer than two axes.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> model = BinaryMLP((6,), 2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 3)))
        >>> ios = binary_layer_io(model, variables, jnp.ones((4, 3)))
        >>> [(io.name, io.inputs.shape, io.latent_kernel.shape) for io in ios]
        [('hidden_0', (4, 3), (3, 6)), ('head', (4, 6), (6, 2))]
    """
    if not isinstance(model, BinaryMLP | BinaryCNN):
        raise TypeError(f"`model` must be a BinaryMLP or BinaryCNN, got {type(model).__name__}")
    x = jnp.asarray(check_finite_array(x, "x"), jnp.float32)
    if x.ndim < 2:
        raise ValueError(f"`x` must have shape [n, ...], got {x.shape}")
    out: Any = model.apply(variables, x, train=False, return_layer_io=True)
    return list(out[1])


def _is_latent(path: tuple[Any, ...]) -> bool:
    return bool(path) and getattr(path[-1], "key", None) == LATENT


def has_latent_weights(params: Any) -> bool:
    """Whether a parameter tree holds latent binary weights (``latent_kernel`` leaves).

    Traceable: jit, vmap

    Examples:
        >>> has_latent_weights({"hidden_0": {"latent_kernel": 0.0}})
        True
    """
    leaves = jax.tree_util.tree_leaves_with_path(params)
    return any(_is_latent(path) for path, _ in leaves)


def clip_latent_weights(low: float = -1.0, high: float = 1.0) -> optax.GradientTransformation:
    """An optax transformation that keeps latent binary weights in ``[low, high]``.

    Put it last in the chain: it rewrites the update ``u`` of every ``latent_kernel``
    leaf ``w`` so that ``w + u = clip(w + u, low, high)`` (BinaryNet clips the latent
    weights after every update); other parameters pass through. The update is
    adjusted by one float32 ulp where rounding would otherwise step past a bound, so
    ``optax.apply_updates`` lands inside ``[low, high]`` exactly.

    Traceable: jit, vmap (the transformation's ``update``; the bounds are static Python
    numbers, and the one-ulp step, ``nextafter``, has no gradient)

    Args:
        low: lower bound (a real number; ``-inf`` leaves that side open).
        high: upper bound, ``> low``.

    Returns:
        An ``optax.GradientTransformation`` (stateless; needs ``params`` in ``update``).

    Raises:
        TypeError: a bound that is not a real number (a string, an array, a bool).
        ValueError: a NaN bound, or ``low >= high``.

    Examples:
        >>> import jax.numpy as jnp, optax
        >>> tx = optax.chain(optax.sgd(1.0), clip_latent_weights())
        >>> params = {"w": {"latent_kernel": jnp.array([0.9, -0.9])}, "b": jnp.array([0.9])}
        >>> grads = {"w": {"latent_kernel": jnp.array([-0.5, 0.5])}, "b": jnp.array([-0.5])}
        >>> updates, _ = tx.update(grads, tx.init(params), params)
        >>> new = optax.apply_updates(params, updates)
        >>> new["w"]["latent_kernel"].tolist(), [round(v, 6) for v in new["b"].tolist()]
        ([1.0, -1.0], [1.4])
    """
    low = check_float(low, "low", allow_inf=True)
    high = check_float(high, "high", allow_inf=True)
    if not low < high:
        raise ValueError(f"`low` must be below `high`, got {low} and {high}")

    def clip_update(path, u, w):
        if not _is_latent(path):
            return u
        lo, hi = jnp.asarray(low, w.dtype), jnp.asarray(high, w.dtype)
        d = jnp.clip(w + u, lo, hi) - w
        for _ in range(2):  # undo rounding past a bound (at most an ulp or two)
            d = jnp.where(w + d > hi, jnp.nextafter(d, -jnp.inf), d)
            d = jnp.where(w + d < lo, jnp.nextafter(d, jnp.inf), d)
        return d.astype(u.dtype)

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("clip_latent_weights needs `params` in update()")
        return jax.tree_util.tree_map_with_path(clip_update, updates, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)
