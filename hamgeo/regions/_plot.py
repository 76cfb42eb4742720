"""Pictures of the cells met on a plane, raster or exact (private).

Composes the public result types of two siblings (``SlicePartition``,
``ExactPartition``); matplotlib is imported when a picture is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hamgeo._checks import check_int, check_positive_float, describe
from hamgeo.regions._exact import ExactPartition
from hamgeo.regions._slices import SlicePartition

if TYPE_CHECKING:  # matplotlib is imported when a picture is drawn
    from matplotlib.axes import Axes

__all__ = ["plot_partition"]


def plot_partition(
    partition: SlicePartition | ExactPartition,
    *,
    ax: Axes | None = None,
    cmap: str = "tab20",
    boundaries: bool = True,
    boundary_color: str = "black",
    seed: int = 0,
    linewidth: float = 0.5,
) -> Axes:
    """Draw the cells of a raster or exact partition of a plane.

    The partition comes from [`slice_partition`][hamgeo.regions.slice_partition] or
    [`exact_slice_partition`][hamgeo.regions.exact_slice_partition].

    Cells get colours of ``cmap`` in a shuffled order so that neighbours differ. A
    raster is drawn as an image (boundaries: the pixels where the cell id changes);
    an exact partition as filled polygons (boundaries: their edges).

    Host-only: it draws with matplotlib.

    Args:
        partition: the raster or the exact partition of a plane.
        ax: a matplotlib ``Axes`` (a new figure when ``None``).
        cmap: colormap name.
        boundaries: draw the boundaries between cells.
        boundary_color: colour of the boundaries.
        seed: seed of the colour shuffle (a NumPy generator, local), ``>= 0``.
        linewidth: width of the polygons' edges (exact partitions), ``> 0``.

    Returns:
        The ``Axes``.

    Raises:
        TypeError: ``partition`` of another type, ``ax`` not an ``Axes``, ``cmap`` not a
            name or a colormap, ``seed`` not an integer, ``boundaries`` not a bool.
        ValueError: an unknown ``cmap`` or ``boundary_color``, ``seed < 0`` or
            ``linewidth <= 0``.

    Examples:
        >>> import numpy as np
        >>> from hamgeo.regions import exact_slice_partition, slice_partition
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)}}
        >>> plane = (np.zeros(2), np.eye(2)[0], np.eye(2)[1])
        >>> ax = plot_partition(slice_partition(None, {"params": params}, *plane, resolution=16))
        >>> [float(t) for t in ax.get_xlim()]
        [-1.0, 1.0]
        >>> ax = plot_partition(exact_slice_partition(None, {"params": params}, *plane))
        >>> len(ax.collections[0].get_paths())  # the four quadrants
        4
    """
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes as _Axes
    from matplotlib.collections import PolyCollection

    if not isinstance(partition, SlicePartition | ExactPartition):
        raise TypeError(
            f"`partition` must be a SlicePartition or an ExactPartition, got {describe(partition)}"
        )
    seed = check_int(seed, "seed", minimum=0)
    linewidth = check_positive_float(linewidth, "linewidth")
    if not isinstance(boundaries, bool):
        raise TypeError(f"`boundaries` must be a bool, got {describe(boundaries)}")
    if ax is not None and not isinstance(ax, _Axes):
        raise TypeError(f"`ax` must be a matplotlib Axes or None, got {describe(ax)}")
    if not isinstance(cmap, str | mcolors.Colormap):
        raise TypeError(f"`cmap` must be a colormap name or a Colormap, got {describe(cmap)}")
    try:
        colours = plt.get_cmap(cmap)
    except ValueError:
        raise ValueError(
            f"`cmap` must be a matplotlib colormap name (e.g. 'tab20'), got {cmap!r}"
        ) from None
    if not isinstance(boundary_color, str | tuple) or not mcolors.is_color_like(boundary_color):
        raise ValueError(
            f"`boundary_color` must be a matplotlib colour, got {describe(boundary_color)}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    perm = np.random.default_rng(seed).permutation(max(partition.n_cells, 1))
    ext = partition.extent
    if isinstance(partition, ExactPartition):
        faces = colours(perm[: partition.n_cells] % colours.N)
        ax.add_collection(
            PolyCollection(
                partition.polygons,
                facecolors=faces,
                edgecolors=boundary_color if boundaries else "none",
                linewidths=linewidth if boundaries else 0.0,
            )
        )
    else:
        ids = partition.ids
        img = colours(perm[ids] % colours.N)
        ax.imshow(img, origin="lower", extent=ext, interpolation="nearest", aspect="auto")
        if boundaries:
            edge = np.zeros(ids.shape, dtype=bool)
            edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
            edge[1:, :] |= ids[1:, :] != ids[:-1, :]
            overlay = np.zeros((*ids.shape, 4))
            overlay[edge] = mcolors.to_rgba(boundary_color)
            ax.imshow(overlay, origin="lower", extent=ext, interpolation="nearest", aspect="auto")
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    return ax
