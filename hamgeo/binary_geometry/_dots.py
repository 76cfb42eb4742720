"""Fig. 3 of the BNN-geometry paper: dot-product preservation in trained BNNs."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import check_finite_array, check_key, check_not_traced, check_positive_int
from hamgeo.nets.binary import BinaryCNN, BinaryMLP, binary_layer_io

__all__ = ["LayerPreservation", "dot_product_preservation"]


class LayerPreservation(NamedTuple):
    """Dot-product preservation in one binary layer (the paper's Fig. 3).

    *Pooled* correlations are Pearson's over all (example [, position], unit) pairs, as
    in the paper's histograms; between-unit differences of the mean products can inflate
    them. *Per-unit* correlations are Pearson's over the examples (and positions) of one
    unit, summarized by their quartiles across the layer's units. Scales are the
    least-squares slope through the origin of the first product on the second.

    Attributes:
        layer: 1-based index of the binary layer.
        kind: ``"dense"`` or ``"conv"``.
        input_dim: dimension of one weight vector (fan-in; ``kh * kw * c_in`` for conv).
        n_pairs: number of (input, unit) pairs the statistics use.
        dot_corr: pooled correlation of ``a . w_b`` with ``a . w_c``.
        dot_scale: slope of ``a . w_b`` on ``a . w_c``.
        weight_angle_deg: mean over units of the angle between ``w_b`` and ``w_c``.
        act_corr: pooled correlation of ``w_b . a_c`` with ``w_b . a_b`` (NaN for layer
            1, whose input is the real data and is not binarized).
        act_scale: slope of ``w_b . a_c`` on ``w_b . a_b`` (NaN for layer 1).
        control_corr: correlation of ``a . w_b`` with a random permutation of
            ``a . w_c`` (the shuffled control; ~0 by construction, it cannot fail).
        dots_binary: ``[m]`` a subsample of ``a . w_b`` (for 2-D histograms).
        dots_continuous: ``[m]`` the matching ``a . w_c``.
        act_binary: ``[m]`` the matching ``w_b . a_b`` (the same numbers as
            ``dots_binary``: both are the layer's binary pre-activations).
        act_continuous: ``[m]`` the matching ``w_b . a_c``.
        dot_corr_units: ``[units]`` per-unit correlation of ``a . w_b`` with ``a . w_c``
            (NaN for a unit whose products do not vary).
        dot_corr_unit_q25: first quartile of ``dot_corr_units`` (NaNs left out).
        dot_corr_unit_median: its median.
        dot_corr_unit_q75: its third quartile.
        act_corr_units: ``[units]`` per-unit correlation of ``w_b . a_c`` with
            ``w_b . a_b`` (all NaN for layer 1).
        act_corr_unit_q25: first quartile of ``act_corr_units``.
        act_corr_unit_median: its median.
        act_corr_unit_q75: its third quartile.
        random_corr: pooled correlation of ``a . w_r`` with ``a . w_c``, where each unit's
            ``w_r`` is a random ``±1`` vector (same norm as ``w_b``, independent of
            ``w_c``): what a binary vector unrelated to ``w_c`` scores.
        random_corr_units: ``[units]`` the per-unit correlations of that baseline.
        random_abs_corr_unit_median: median over units of ``|random_corr_units|``. For
            isotropic inputs it is about ``0.67 / sqrt(input_dim)``; it approaches 1 when
            the layer's inputs vary along few directions, and then a high
            ``dot_corr_unit_median`` says little. This baseline can fail.
        isotropic_corr_units: ``[units]`` ``cos angle(w_b, w_c)``, the per-unit
            correlation if the inputs ``a`` were isotropic (``E[a a^T] ∝ I``):
            hamgeo's prediction from the angle theory, not the paper's.
        isotropic_corr_median: median over units of ``isotropic_corr_units``.
    """

    layer: int
    kind: str
    input_dim: int
    n_pairs: int
    dot_corr: float
    dot_scale: float
    weight_angle_deg: float
    act_corr: float
    act_scale: float
    control_corr: float
    dots_binary: np.ndarray
    dots_continuous: np.ndarray
    act_binary: np.ndarray
    act_continuous: np.ndarray
    dot_corr_units: np.ndarray
    dot_corr_unit_q25: float
    dot_corr_unit_median: float
    dot_corr_unit_q75: float
    act_corr_units: np.ndarray
    act_corr_unit_q25: float
    act_corr_unit_median: float
    act_corr_unit_q75: float
    random_corr: float
    random_corr_units: np.ndarray
    random_abs_corr_unit_median: float
    isotropic_corr_units: np.ndarray
    isotropic_corr_median: float


class _Moments:
    """Streaming per-unit sums for Pearson correlation and the slope through the origin.

    ``add(x, y)`` takes ``[m, units]`` pairs; sums are kept per unit in float64 (the
    pooled statistics add them up across units).
    """

    def __init__(self) -> None:
        self.n = 0  # rows per unit
        self.sums: np.ndarray | None = None  # [5, units]: x, y, xx, yy, xy

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, np.float64).reshape(-1, np.shape(x)[-1])
        y = np.asarray(y, np.float64).reshape(x.shape)
        part = np.stack([x.sum(0), y.sum(0), (x * x).sum(0), (y * y).sum(0), (x * y).sum(0)])
        self.sums = part if self.sums is None else self.sums + part
        self.n += x.shape[0]

    @staticmethod
    def _corr(sums: np.ndarray, n: int) -> np.ndarray:
        sx, sy, sxx, syy, sxy = sums / max(n, 1)
        vx, vy = sxx - sx * sx, syy - sy * sy
        # relative guard: a variance at float rounding level of the raw moments is zero
        ok = (vx > 1e-12 * np.maximum(sxx, 1e-300)) & (vy > 1e-12 * np.maximum(syy, 1e-300))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (sxy - sx * sy) / np.sqrt(np.where(ok, vx * vy, 1.0))
        return np.where(ok & (n >= 2), np.clip(r, -1.0, 1.0), np.nan)

    @property
    def n_pairs(self) -> int:
        return 0 if self.sums is None else self.n * self.sums.shape[1]

    def _filled(self) -> np.ndarray:
        if self.sums is None:
            raise ValueError("no rows were added to these moments")
        return self.sums

    def corr(self) -> float:
        """The pooled correlation over all (row, unit) pairs."""
        return float(self._corr(self._filled().sum(1, keepdims=True), self.n_pairs)[0])

    def unit_corr(self) -> np.ndarray:
        """``[units]`` correlations over the rows of each unit."""
        return self._corr(self._filled(), self.n)

    def slope(self) -> float:
        """Least-squares ``s`` in ``x ~ s * y`` over all pairs."""
        sums = self._filled()
        syy, sxy = sums[3].sum(), sums[4].sum()
        return float(sxy / syy) if syy > 0 else float("nan")


def _quartiles(values: np.ndarray) -> tuple[float, float, float]:
    """First quartile, median and third quartile of the finite ``values`` (NaN if none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (float("nan"),) * 3
    q25, q50, q75 = np.quantile(finite, [0.25, 0.5, 0.75])
    return float(q25), float(q50), float(q75)


def _as_2d_conv(inputs: Any, kernel: Any) -> tuple[jax.Array, tuple[int, ...]]:
    """View a 1-D conv layer (``[n, L, C]``, kernel ``[k, C, O]``) as a 2-D one with H = 1."""
    inputs = jnp.asarray(inputs)
    shape = tuple(np.shape(kernel))
    if len(shape) == 3:
        return inputs[:, None], (1, *shape)
    if len(shape) != 4:
        raise ValueError(f"conv kernels must be 1-D or 2-D, got kernel shape {shape}")
    return inputs, shape


def _conv_padding(
    input_shape: tuple, kernel_shape: tuple, out_positions: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Infer the (stride-1) padding of a conv layer from its input and output sizes."""
    _, h, w, _ = input_shape
    kh, kw = kernel_shape[:2]
    if out_positions == h * w:  # SAME
        return ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2)
    if out_positions == (h - kh + 1) * (w - kw + 1):  # VALID
        return (0, 0), (0, 0)
    raise ValueError(
        f"cannot match conv layer input [{h}, {w}] and kernel [{kh}, {kw}] to its "
        f"{out_positions} output positions (stride 1, SAME or VALID padding expected)"
    )


def _gather_patches(
    inputs: jax.Array, kernel_shape: tuple, padding: tuple, pos: jax.Array
) -> jax.Array:
    """``[n * p, kh * kw * c]`` patches at output positions ``pos`` ``[n, p]`` (HWC order)."""
    n, _, _, c = inputs.shape
    kh, kw = kernel_shape[:2]
    padded = jnp.pad(inputs, ((0, 0), padding[0], padding[1], (0, 0)))
    out_w = padded.shape[2] - kw + 1

    def one(img, p):
        return jax.lax.dynamic_slice(img, (p // out_w, p % out_w, 0), (kh, kw, c)).reshape(-1)

    per_image = jax.vmap(lambda img, ps: jax.vmap(lambda p: one(img, p))(ps))
    return per_image(padded, pos).reshape(n * pos.shape[1], kh * kw * c)


def _layer_rows(io: Any, key: jax.Array, positions_per_example: int) -> tuple:
    """Rows (binary inputs, continuous inputs) ``[r, fan_in]`` of one layer."""
    if io.kind == "dense":
        a_b = jnp.reshape(io.inputs, (io.inputs.shape[0], -1))
        a_c = jnp.reshape(io.inputs_continuous, a_b.shape)
        return a_b, a_c
    x_b, shape = _as_2d_conv(io.inputs, io.latent_kernel)
    x_c, _ = _as_2d_conv(io.inputs_continuous, io.latent_kernel)
    out_positions = int(np.prod(io.preactivations.shape[1:])) // shape[-1]
    padding = _conv_padding(x_b.shape, shape, out_positions)
    n_pos = min(positions_per_example, out_positions)
    pos = jax.vmap(lambda k: jax.random.choice(k, out_positions, (n_pos,), replace=False))(
        jax.random.split(key, x_b.shape[0])
    )
    return (
        _gather_patches(x_b, shape, padding, pos),
        _gather_patches(x_c, shape, padding, pos),
    )


def _quartile_fields(prefix: str, values: np.ndarray) -> dict[str, float]:
    """``{prefix_q25, prefix_median, prefix_q75}`` of ``values``."""
    names = (f"{prefix}_q25", f"{prefix}_median", f"{prefix}_q75")
    return dict(zip(names, _quartiles(values), strict=True))


def _weight_cosines(latent: Any) -> np.ndarray:
    """``[units]`` ``cos angle(w_c, sign(w_c))`` per unit (column of the flattened kernel)."""
    wc = np.asarray(latent, np.float64).reshape(-1, np.shape(latent)[-1])
    wb = np.where(wc >= 0, 1.0, -1.0)
    norms = np.linalg.norm(wc, axis=0) * np.linalg.norm(wb, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip((wc * wb).sum(0) / norms, -1.0, 1.0)


@functools.partial(jax.jit, static_argnames=("model", "positions_per_example"))
def _batch_products(model, variables, xb, key, key_random, positions_per_example):
    """Per layer ``[b, p, units]`` products ``a.w_b, a.w_c, a_c.w_b, a.w_r``, shuffled ``a.w_c``.

    Also returns each layer's ``W_c``. ``p`` is 1 for dense layers, the sampled positions
    for conv layers.
    """
    b = xb.shape[0]
    out = []
    for k, io in enumerate(binary_layer_io(model, variables, xb)):
        kpos, kperm = jax.random.split(jax.random.fold_in(key, k), 2)
        a_b, a_c = _layer_rows(io, kpos, positions_per_example)
        wc = jnp.reshape(io.latent_kernel, (-1, io.latent_kernel.shape[-1]))
        wb = jnp.reshape(io.binary_kernel, wc.shape)
        # the same random ±1 weights for every batch: one key per layer, not per batch
        wr = jax.random.rademacher(jax.random.fold_in(key_random, k), wc.shape, wc.dtype)
        dot_b, dot_c, act_c, dot_r = (a_b @ wb), (a_b @ wc), (a_c @ wb), (a_b @ wr)
        perm_c = dot_c.ravel()[jax.random.permutation(kperm, dot_c.size)]
        arrays = (dot_b, dot_c, act_c, dot_r, perm_c)
        units = wc.shape[1]
        out.append((*(a.reshape(b, -1, units) for a in arrays), io.latent_kernel))
    return out


def _layer_result(k: int, s: dict, latent: np.ndarray, kept: np.ndarray) -> LayerPreservation:
    """Assemble one layer's statistics from its streamed moments."""
    first = k == 0
    cos = _weight_cosines(latent)
    dot_units = s["dot"].unit_corr()
    act_units = np.full_like(dot_units, np.nan) if first else s["act"].unit_corr()
    random_units = s["rnd"].unit_corr()
    finite_random = np.abs(random_units[np.isfinite(random_units)])
    return LayerPreservation(
        layer=k + 1,
        kind="conv" if latent.ndim > 2 else "dense",
        input_dim=int(np.prod(latent.shape[:-1])),
        n_pairs=s["dot"].n_pairs,
        dot_corr=s["dot"].corr(),
        dot_scale=s["dot"].slope(),
        weight_angle_deg=float(np.degrees(np.arccos(cos)).mean()),
        act_corr=float("nan") if first else s["act"].corr(),
        act_scale=float("nan") if first else s["act"].slope(),
        control_corr=s["ctl"].corr(),
        dots_binary=kept[0],
        dots_continuous=kept[1],
        act_binary=kept[0],
        act_continuous=kept[2],
        dot_corr_units=dot_units,
        **_quartile_fields("dot_corr_unit", dot_units),
        act_corr_units=act_units,
        **_quartile_fields("act_corr_unit", act_units),
        random_corr=s["rnd"].corr(),
        random_corr_units=random_units,
        random_abs_corr_unit_median=(
            float(np.median(finite_random)) if finite_random.size else float("nan")
        ),
        isotropic_corr_units=cos,
        isotropic_corr_median=_quartiles(cos)[1],
    )


def dot_product_preservation(
    model: Any,
    variables: Any,
    x: Any,
    *,
    key: jax.Array,
    batch_size: int = 256,
    positions_per_example: int = 64,
    n_keep: int = 4096,
) -> list[LayerPreservation]:
    """How well each binary layer of a trained BNN preserves dot products (Fig. 3).

    For every binary layer with input activations ``a`` (the data for layer 1, the
    ±1 binarized activations after), continuous latent weights ``w_c`` and binary
    weights ``w_b = sign(w_c)``, compares over the (input, unit) pairs:

    - ``a . w_b`` against ``a . w_c`` (the paper's Fig. 3): Pearson correlation pooled
      over all pairs (the paper's histograms) and per unit (quartiles across units),
      and the slope;
    - ``w_b . a_c`` against ``w_b . a_b`` with ``a_c`` the activations before
      binarization (post batch norm; the paper's activation variant), likewise;
    - two baselines: ``a . w_r`` against ``a . w_c`` with ``w_r`` random ``±1`` vectors
      (high when the inputs vary along few directions: then preservation means
      little), and ``cos angle(w_b, w_c)``, the correlation isotropic inputs would give;
    - ``a . w_b`` against a random permutation of ``a . w_c`` (shuffled control, ~0).

    Conv layers are read as dot products of ``kh * kw * c_in`` patches with each
    filter, at ``positions_per_example`` random output positions per example, so the
    memory stays ``O(batch_size * positions_per_example * fan_in)``. Statistics stream
    over batches of ``x`` in float64. Anderson & Berg (2018), Sec. 2-3 and Fig. 3
    ([BNN-Geometry] in ``docs/references.md``); the per-unit view and the baselines are
    hamgeo's additions.

    Host-only: it batches ``x`` and subsamples pairs on the host (NumPy).

    Args:
        model: a [`BinaryMLP`][hamgeo.nets.BinaryMLP] or [`BinaryCNN`][hamgeo.nets.BinaryCNN].
        variables: its trained variables.
        x: ``[n, ...]`` inputs.
        key: PRNG key for the conv positions, the histogram subsample, the random
            baseline weights and the shuffled control (required, keyword-only: no hidden
            seed).
        batch_size: examples per forward pass.
        positions_per_example: conv output positions sampled per example.
        n_keep: pairs per layer kept in the result for plotting.

    Returns:
        One [`LayerPreservation`][hamgeo.binary_geometry.LayerPreservation] per binary layer, in
        order.

    Raises:
        ValueError: if ``x`` is empty or holds NaN / inf, or a size argument is not
            positive.
        TypeError: if ``model`` is not a binary network, ``key`` is not a key, ``x``
            is not a real array (complex, strings, ragged lists), or a size argument
            is not an int.

    Examples:
        >>> import jax
        >>> from hamgeo import nets
        >>> model = nets.BinaryMLP((64, 64), 3)
        >>> x = jax.random.normal(jax.random.key(0), (50, 10))
        >>> variables = jax.jit(model.init)(jax.random.key(1), x)  # jit: one compilation
        >>> layers = dot_product_preservation(model, variables, x, key=jax.random.key(0))
        >>> [(r.layer, r.input_dim, r.dot_corr_units.shape) for r in layers]
        [(1, 10, (64,)), (2, 64, (64,)), (3, 64, (3,))]
        >>> bool(layers[1].dot_corr > 0.5), bool(abs(layers[1].control_corr) < 0.1)
        (True, True)
        >>> bool(layers[1].dot_corr_unit_median > layers[1].random_abs_corr_unit_median)
        True
    """
    check_not_traced("dot_product_preservation", x, key, variables)
    if not isinstance(model, BinaryMLP | BinaryCNN):
        raise TypeError(f"`model` must be a BinaryMLP or BinaryCNN, got {type(model).__name__}")
    batch_size = check_positive_int(batch_size, "batch_size")
    positions_per_example = check_positive_int(positions_per_example, "positions_per_example")
    n_keep = check_positive_int(n_keep, "n_keep")
    key = check_key(key)
    x = jnp.asarray(check_finite_array(x, "x"), jnp.float32)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"`x` must be a non-empty batch [n, ...], got shape {tuple(x.shape)}")
    n = x.shape[0]
    key_random = jax.random.split(key)[1]

    batch_size = min(batch_size, n)
    keep_rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    stats: list[dict] = []
    latents: list[np.ndarray] = []
    for start in range(0, n, batch_size):
        xb = x[start : start + batch_size]
        real = xb.shape[0]
        if real < batch_size:  # pad the last batch (one compilation), drop the padding below
            xb = jnp.concatenate([xb, jnp.broadcast_to(xb[:1], (batch_size - real, *xb.shape[1:]))])
        layers = _batch_products(
            model, variables, xb, jax.random.fold_in(key, start), key_random, positions_per_example
        )
        if not stats:
            stats = [{k: _Moments() for k in ("dot", "act", "rnd", "ctl")} for _ in layers]
            for s in stats:
                s["keep"] = []
            latents = [np.asarray(latent) for *_, latent in layers]
        for s, (*arrays, _) in zip(stats, layers, strict=True):
            dot_b, dot_c, act_c, dot_r, perm_c = (np.asarray(a)[:real] for a in arrays)
            s["dot"].add(dot_b, dot_c)
            s["act"].add(act_c, dot_b)
            s["rnd"].add(dot_r, dot_c)
            s["ctl"].add(dot_b.reshape(-1, 1), perm_c.reshape(-1, 1))  # pooled only
            flat_b, flat_c, flat_a = dot_b.ravel(), dot_c.ravel(), act_c.ravel()
            m = min(flat_b.size, -(-n_keep * real // n))
            idx = keep_rng.choice(flat_b.size, m, replace=False)
            s["keep"].append(np.stack([flat_b[idx], flat_c[idx], flat_a[idx]]))

    return [
        _layer_result(
            k, s, latent, np.concatenate(s["keep"], axis=1)[:, :n_keep].astype(np.float32)
        )
        for k, (s, latent) in enumerate(zip(stats, latents, strict=True))
    ]
