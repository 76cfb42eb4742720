import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hamgeo
from hamgeo import regions
from hamgeo.codes import PackedCodes, pack_bits
from hamgeo.regions import _unique


def _dup_codes(rng, n, n_bits, n_distinct):
    base = rng.integers(0, 2, size=(n_distinct, n_bits)).astype(bool)
    return base[rng.integers(0, n_distinct, size=n)]


@pytest.mark.parametrize("n_bits", [1, 31, 33, 65])
def test_count_and_redundancy_match_np_unique(rng, n_bits, f32_tol):
    bits = _dup_codes(rng, 29, n_bits, 11)
    ref = len(np.unique(bits, axis=0))
    assert int(regions.count_regions(bits)) == ref  # exact
    assert float(regions.redundancy_ratio(pack_bits(bits))) == pytest.approx(
        (29 - ref) / 29, abs=f32_tol(1)
    )  # one float32 rounding of a ratio <= 1
    count, ids = regions.region_ids(bits)
    ids = np.asarray(ids)
    # ids are a relabelling of np.unique's inverse
    _, inv = np.unique(bits, axis=0, return_inverse=True)
    assert (
        int(count) == ref and len(set(zip(ids.tolist(), inv.ravel().tolist(), strict=True))) == ref
    )


def test_hash_collision_falls_back_to_exact(rng, monkeypatch):
    bits = _dup_codes(rng, 37, 70, 9)
    words = pack_bits(bits).words
    ref = len(np.unique(bits, axis=0))
    _, inv = np.unique(bits, axis=0, return_inverse=True)
    # Every row with the same hash: the collision is detected.
    same = jnp.zeros(37, jnp.uint32)
    assert bool(jax.jit(_unique._hashed_unique)(words, same, same)[2])
    # The exact branch alone counts right, and ids relabel np.unique's inverse.
    count, ids = _unique._exact_unique_ids(words)
    assert int(count) == ref
    assert len(set(zip(np.asarray(ids).tolist(), inv.ravel().tolist(), strict=True))) == ref
    # unique_ids takes the exact branch when the hashed one reports a collision.
    monkeypatch.setattr(
        _unique,
        "_hash_unique_ids",
        lambda w: (jnp.int32(-1), jnp.zeros(w.shape[0], jnp.int32), jnp.bool_(True)),
    )
    assert int(regions.count_regions(bits)) == ref


@pytest.mark.parametrize("n_bits", [7, 33])
def test_counts_trace_under_jit_and_vmap(rng, n_bits):
    # Under jit the hashed count and its exact fallback are both traced (lax.cond):
    # the same numbers as eagerly and as np.unique, with no size bound needed.
    bits = _dup_codes(rng, 29, n_bits, 9)
    slices = [(0, 3), (3, n_bits)]
    ref = len(np.unique(bits, axis=0))
    for codes in (bits, pack_bits(bits)):
        assert int(jax.jit(regions.count_regions)(codes)) == ref  # exact
        assert float(jax.jit(regions.redundancy_ratio)(codes)) == float(
            regions.redundancy_ratio(codes)
        )  # the same float32 ops
        count, ids = jax.jit(regions.region_ids)(codes)
        eager = regions.region_ids(codes)
        assert int(count) == ref
        np.testing.assert_array_equal(np.asarray(ids), np.asarray(eager[1]))
        per = jax.jit(lambda c: regions.count_regions_per_layer(c, slices, cumulative=True))
        want = [len(np.unique(bits[:, :stop], axis=0)) for _, stop in slices]
        assert [int(c) for c in per(codes)] == want
        red = jax.jit(lambda c: regions.redundancy_ratio_per_layer(c, slices))(codes)
        eager_red = regions.redundancy_ratio_per_layer(codes, slices)
        assert [float(r) for r in red] == [float(r) for r in eager_red]
    stacked = np.stack([bits, _dup_codes(rng, 29, n_bits, 4), np.ones((29, n_bits), bool)])
    got = jax.vmap(regions.count_regions)(stacked)
    assert np.asarray(got).tolist() == [len(np.unique(b, axis=0)) for b in stacked]


def test_hash_collision_falls_back_to_exact_under_jit(rng, monkeypatch):
    bits = _dup_codes(rng, 37, 70, 9)
    ref = len(np.unique(bits, axis=0))
    monkeypatch.setattr(
        _unique,
        "_hash_unique_ids",
        lambda w: (jnp.int32(-1), jnp.zeros(w.shape[0], jnp.int32), jnp.bool_(True)),
    )
    assert int(jax.jit(regions.count_regions)(bits)) == ref  # the traced fallback


def test_all_equal_and_all_distinct(f32_tol):
    assert int(regions.count_regions(np.ones((13, 5), bool))) == 1
    assert float(regions.redundancy_ratio(np.ones((13, 5), bool))) == pytest.approx(
        12 / 13, abs=f32_tol(1)
    )
    eye = np.eye(17, dtype=bool)
    assert float(regions.redundancy_ratio(eye)) == 0.0


def test_per_layer_counts(rng, f32_tol):
    bits = _dup_codes(rng, 41, 50, 13)
    bits[:, :10] = bits[:, :10] & bits[:, 10:20]
    slices = [slice(0, 10), slice(10, 37), slice(37, 50)]
    got = [int(c) for c in regions.count_regions_per_layer(bits, slices)]
    assert got == [len(np.unique(bits[:, s], axis=0)) for s in slices]
    cum = [int(c) for c in regions.count_regions_per_layer(bits, slices, cumulative=True)]
    assert cum == [len(np.unique(bits[:, : s.stop], axis=0)) for s in slices]
    red = regions.redundancy_ratio_per_layer(bits, [(0, 10), (10, 37)])
    want = [(41 - g) / 41 for g in got[:2]]
    assert [float(r) for r in red] == pytest.approx(want, abs=f32_tol(1))  # one rounding


def test_count_regions_bad_inputs():
    with pytest.raises(TypeError, match="`codes`"):
        regions.count_regions(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="`codes`"):
        regions.count_regions(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="single code"):
        regions.redundancy_ratio(np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="at least one code"):
        regions.redundancy_ratio(np.zeros((0, 4), bool))
    with pytest.raises(ValueError, match="`codes`"):
        regions.count_regions(PackedCodes(jnp.zeros((3, 1), jnp.uint32), 40))
    bits = np.zeros((3, 8), bool)
    with pytest.raises(ValueError, match="`layer_slices`"):
        regions.count_regions_per_layer(bits, [slice(0, 9)])
    with pytest.raises(ValueError, match="`layer_slices`"):
        regions.count_regions_per_layer(bits, [slice(0, 8, 2)])
    with pytest.raises(ValueError, match="`layer_slices`"):
        regions.count_regions_per_layer(bits, [])
    with pytest.raises(TypeError, match="`layer_slices`"):
        regions.count_regions_per_layer(bits, ["a"])
    with pytest.raises(ValueError, match="contiguous"):
        regions.count_regions_per_layer(bits, [(0, 3), (4, 8)], cumulative=True)


def test_exported():
    assert hamgeo.count_regions is regions.count_regions
    assert hamgeo.redundancy_ratio is regions.redundancy_ratio
    for name in regions.__all__:
        assert getattr(regions, name).__module__.startswith(("hamgeo.regions", "hamgeo.codes"))


def test_package_layout_siblings_share_only_public_names_and_leaves():
    # hamgeo/regions: the leaves (_common, _unique) import no sibling; no module imports
    # another sibling's private names; no circle; no in-function import of hamgeo modules
    import ast
    from pathlib import Path

    folder = Path(regions.__file__).parent
    leaves = {"_common", "_unique"}
    graph = {}
    for path in sorted(folder.glob("_*.py")):
        name = path.stem
        tree = ast.parse(path.read_text())
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hamgeo"):
                assert node.col_offset == 0, f"{name}: in-function import of {node.module}"
                if node.module.startswith("hamgeo.regions."):
                    sibling = node.module.rsplit(".", 1)[1]
                    deps.add(sibling)
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    assert not private, f"{name} imports private {private} from {sibling}"
        if name in leaves:
            assert not deps, f"leaf {name} imports {deps}"
        graph[name] = deps
    done = set()

    def visit(node, stack):
        assert node not in stack, f"import circle through {stack + [node]}"
        if node in done:
            return
        for dep in graph.get(node, ()):
            visit(dep, [*stack, node])
        done.add(node)

    for node in graph:
        visit(node, [])
    assert graph["_graph"] >= {"_exact", "_lines"}  # (the test sees the imports)


def test_per_layer_bad_options():
    with pytest.raises(TypeError, match="`cumulative`"):
        regions.count_regions_per_layer(np.zeros((3, 4), bool), [(0, 2)], cumulative="yes")


# --- held-out audit (issue 23) --------------------------------------------------------------

_EYE = {"params": {"hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)}}}
_PLANE = (np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]))


def test_line_regions_near_the_float64_limit_do_not_overflow():
    # held-out audit (issue 23): x1 - x0 overflowed and the two flips at t = 0.5 were lost
    big = np.array([1e308, -1e308])
    lr = hamgeo.line_regions(None, _EYE, big, -big)
    assert lr.breakpoints.tolist() == [0.5]
    assert lr.codes.unpack().tolist() == [[True, False], [False, True]]
    # tiny values: the sign test za * zb < 0 underflowed to 0
    tiny = np.array([1e-200, -1e-200])
    assert hamgeo.line_regions(None, _EYE, tiny, -tiny).breakpoints.tolist() == [0.5]
    with pytest.raises(ValueError, match=r"`x0` and `x1` must be finite in `dtype` float32"):
        hamgeo.line_regions(None, _EYE, big, -big, dtype=np.float32)
    ten = {"params": {"hidden_0": {"kernel": 10 * np.ones((2, 2)), "bias": np.zeros(2)}}}
    with pytest.raises(ValueError, match=r"`x0` and `x1` .* pre-activations overflow"):
        hamgeo.line_regions(None, ten, np.array([1e308, 1e308]), np.zeros(2))


def test_slice_partition_refuses_a_window_float32_cannot_hold():
    # held-out audit (issue 23): extent=1e300 became inf in float32 and gave 1 cell
    with pytest.raises(ValueError, match=r"`extent` .* not finite in float32.*`origin`"):
        hamgeo.slice_partition(None, _EYE, *_PLANE, extent=1e300, resolution=4)
    with pytest.raises(ValueError, match=r"`extent` .* not finite in float32"):
        hamgeo.slice_partition(None, _EYE, np.array([1e300, 0.0]), *_PLANE[1:], resolution=4)
    assert hamgeo.slice_partition(None, _EYE, *_PLANE, extent=1e30, resolution=4).n_cells == 4


def test_slice_partition_names_an_origin_of_the_wrong_size():
    # held-out audit (issue 23): a raw dot_general TypeError came instead
    with pytest.raises(ValueError, match=r"`origin` must have 2 values \(the net's input\), got 3"):
        hamgeo.slice_partition(None, _EYE, np.zeros(3), np.zeros(3), np.zeros(3))


def test_cell_graph_names_mismatched_segments():
    # held-out audit (issue 23): the message named internal x0/x1 and grid-inflated shapes
    kw = dict(exact=False, resolution=4)
    with pytest.raises(ValueError, match=r"`segments` .* got \(2, 2\) and \(3, 2\)"):
        hamgeo.cell_graph(None, _EYE, *_PLANE, segments=(np.zeros((2, 2)), np.zeros((3, 2))), **kw)
    with pytest.raises(TypeError, match=r"`segments` must be a pair"):
        hamgeo.cell_graph(None, _EYE, *_PLANE, segments=np.zeros((2, 2)), **kw)


def test_plot_partition_names_a_bad_cmap_and_ax():
    # held-out audit (issue 23): matplotlib's own ValueError, and an AttributeError for ax
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    part = hamgeo.slice_partition(None, _EYE, *_PLANE, resolution=4)
    with pytest.raises(ValueError, match=r"`cmap` must be a matplotlib colormap name"):
        hamgeo.plot_partition(part, cmap="no-such-map")
    with pytest.raises(TypeError, match=r"`cmap` must be a colormap name"):
        hamgeo.plot_partition(part, cmap=3)
    with pytest.raises(TypeError, match=r"`ax` must be a matplotlib Axes or None, got 'axes'"):
        hamgeo.plot_partition(part, ax="axes")
    with pytest.raises(ValueError, match=r"`boundary_color` must be a matplotlib colour"):
        hamgeo.plot_partition(part, boundary_color="no-such-colour")
