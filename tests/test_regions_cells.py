"""Exact line regions, 2-D slices, facets and distances between cells (hamgeo.regions)."""

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest
from _cells import arrangement, mlp, preactivations

from hamgeo import nets, regions
from hamgeo.codes import pack_bits


def test_line_regions_against_dense_sampling(rng):
    v = mlp(rng, 5, [7, 9, 6])
    x0, x1 = rng.standard_normal(5) * 2, rng.standard_normal(5) * 2
    lr = regions.line_regions(None, v, x0, x1)
    bp = lr.breakpoints
    codes = np.asarray(lr.codes.unpack())
    assert codes.shape == (bp.size + 1, 22) and np.all(np.diff(bp) > 0)
    assert bp.size > 5 and bp[0] > 0 and bp[-1] < 1
    # neighbouring pieces are different cells
    assert np.all((codes[1:] != codes[:-1]).any(axis=1))
    # each breakpoint zeroes some unit's pre-activation (float64 reference, 1e-9 relative)
    zb = preactivations(v, x0[None] + bp[:, None] * (x1 - x0)[None])
    scale = np.abs(preactivations(v, np.stack([x0, x1]))).max()
    assert np.all(np.abs(zb).min(axis=1) < 1e-9 * scale)
    # 10^5 samples: each sample's code is its piece's code (away from breakpoints by 1e-9),
    # so every cell the samples meet appears, in the same order
    t = (np.arange(100_000) + 0.5) / 100_000
    sample = preactivations(v, x0[None] + t[:, None] * (x1 - x0)[None]) > 0
    piece = np.searchsorted(bp, t)
    near = np.min(np.abs(t[:, None] - bp[None]), axis=1) < 1e-9
    assert np.array_equal(sample[~near], codes[piece[~near]])
    met = sample[np.r_[True, (sample[1:] != sample[:-1]).any(axis=1)]]
    pos = [int(np.nonzero((codes == c).all(axis=1))[0].min()) for c in met]
    assert pos == sorted(pos)


def test_line_regions_batched_matches_single(rng):
    v = mlp(rng, 3, [1, 17, 3])
    x0, x1 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    x1[2] = x0[2]  # a zero-length segment: one piece
    lr = regions.line_regions(None, v, x0, x1)
    assert isinstance(lr, regions.LineRegions) and lr.n_segments == 4  # one type, no list
    many = [lr.segment(k) for k in range(4)]
    assert many[2].breakpoints.size == 0 and many[2].codes.shape == (1,)
    assert lr.codes.shape == (lr.breakpoints.size + 4,)
    for k in range(4):
        one = regions.line_regions(None, v, x0[k], x1[k])
        assert one.n_segments == 1 and one.offsets.tolist() == [0, one.breakpoints.size]
        np.testing.assert_allclose(many[k].breakpoints, one.breakpoints, rtol=0, atol=1e-12)
        assert np.array_equal(np.asarray(many[k].codes.words), np.asarray(one.codes.words))
        # endpoints' codes from the reference forward pass
        ends = preactivations(v, np.stack([x0[k], x1[k]])) > 0
        got = np.asarray(one.codes.unpack())
        assert np.array_equal(got[0], ends[0]) and np.array_equal(got[-1], ends[1])
    with pytest.raises(ValueError, match="`i`"):
        lr.segment(4)
    d = regions.crossing_distance(None, v, x0, x1)
    assert d.tolist() == [
        int(np.abs(np.diff(np.asarray(r.codes.unpack()).astype(int), axis=0)).sum()) for r in many
    ]


def test_line_regions_bad_inputs(rng):
    v = mlp(rng, 3, [4])
    with pytest.raises(ValueError, match="`variables`"):
        regions.line_regions(None, {"params": {"dense": {}}}, np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match="`variables`"):
        regions.line_regions(None, [1, 2], np.zeros(3), np.ones(3))
    bad = {"params": {"hidden_0": {"kernel": np.ones((3, 4)), "bias": np.ones(5)}}}
    with pytest.raises(ValueError, match="hidden_0"):
        regions.line_regions(None, bad, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="`x0`"):
        regions.line_regions(None, v, np.zeros(4), np.ones(3))
    with pytest.raises(ValueError, match="same shape"):
        regions.line_regions(None, v, np.zeros((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        regions.line_regions(None, v, np.full(3, np.nan), np.ones(3))
    with pytest.raises(TypeError, match="`x1`"):
        regions.line_regions(None, v, np.zeros(3), np.array(["a", "b", "c"]))


def test_model_none_refuses_other_models_and_gaps(rng, key):
    # A CNN's variables (conv layers before its dense ones) and hidden_0, hidden_2 without
    # hidden_1 used to be read as an MLP, silently dropping layers.
    cnn = nets.CNN((2,), (3,), 2)
    cnn_vars = cnn.init(key, np.zeros((1, 5, 5, 1), np.float32))
    v = mlp(rng, 3, [4, 5, 2])
    gap = {"params": {k: w for k, w in v["params"].items() if k != "hidden_1"}}
    origin, u, w = np.zeros(3), np.eye(3)[0], np.eye(3)[1]
    for bad, match in ((cnn_vars, "another model"), (gap, "hidden_1")):
        with pytest.raises(ValueError, match=match):
            regions.line_regions(None, bad, np.zeros(3), np.ones(3))
        with pytest.raises(ValueError, match=match):
            regions.exact_slice_partition(None, bad, origin, u, w)
        with pytest.raises(ValueError, match=match):
            regions.crossing_distance(None, bad, np.zeros(3), np.ones(3))
        with pytest.raises(ValueError, match=match):
            regions.mlp_layers(bad)


def test_slice_partition_against_reference_and_finer_raster(rng, f32_tol):
    v = mlp(rng, 3, [6, 5])
    origin, u, w = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)
    coarse = regions.slice_partition(None, v, origin, u, w, extent=2.0, resolution=(24, 17))
    fine = regions.slice_partition(
        None, v, origin, u, w, extent=2.0, resolution=(95, 67), batch_size=1000
    )
    assert coarse.ids.shape == (17, 24) and fine.ids.shape == (67, 95)
    # pixel codes against the float64 reference; pixels within float32 rounding of a
    # boundary are excused: forming the point (3 terms) and two layers (3 and 6 terms),
    # |terms| bounded by the same network with |W| on |point|
    a = np.linspace(-2, 2, 24)
    b = np.linspace(-2, 2, 17)
    pts = origin[None] + a[None, :, None] * u + b[:, None, None] * w  # [17, 24, 3]
    z = preactivations(v, pts.reshape(-1, 3).astype(np.float32))
    ref = z > 0
    got = np.asarray(coarse.codes.unpack())[coarse.ids.ravel()]
    abs_v = {"params": {k: {n: np.abs(a) for n, a in p.items()} for k, p in v["params"].items()}}
    mag = preactivations(abs_v, (np.abs(origin) + 2 * np.abs(u) + 2 * np.abs(w))[None]).max()
    clear = np.abs(z).min(axis=1) > f32_tol(3 + 3 + 6 + 2, mag)
    assert np.array_equal(got[clear], ref[clear])
    assert coarse.n_cells == len(np.unique(got, axis=0))
    # every cell of the coarse raster is met by the finer one, which meets at least as many
    fine_codes = {c.tobytes() for c in np.asarray(fine.codes.unpack())}
    assert {c.tobytes() for c in np.asarray(coarse.codes.unpack())} <= fine_codes
    assert coarse.n_cells <= fine.n_cells == len(np.unique(fine.ids))


def test_slice_partition_with_flax_mlp(key):
    model = nets.MLP((5, 4), 3)
    variables = jax.jit(model.init)(key, np.zeros((1, 2), np.float32))
    origin, u, w = np.zeros(2), np.eye(2)[0], np.eye(2)[1]
    a = regions.slice_partition(model, variables, origin, u, w, extent=3.0, resolution=20)
    b = regions.slice_partition(None, variables, origin, u, w, extent=3.0, resolution=20)
    assert a.n_cells == b.n_cells and a.codes.n_bits == 9
    assert np.array_equal(np.asarray(a.codes.words)[a.ids], np.asarray(b.codes.words)[b.ids])
    # the exact tools take the flax model too, and refuse other models
    x0, x1 = np.array([-3.0, -2.0]), np.array([3.0, 2.5])
    lr = regions.line_regions(model, variables, x0, x1)
    _, pre = model.apply(variables, np.stack([x0, x1]), return_preactivations=True)
    ends = np.concatenate([np.asarray(p) > 0 for p in pre], axis=1)
    got = np.asarray(lr.codes.unpack())
    assert np.array_equal(got[[0, -1]], ends)
    with pytest.raises(TypeError, match="`model`"):
        regions.line_regions(nets.CNN((2,), (3,), 2), variables, x0, x1)
    with pytest.raises(TypeError, match="`model`"):
        regions.cell_facets("mlp", variables, x0)


def test_slice_partition_bad_inputs(rng):
    v = mlp(rng, 2, [3])
    o, u, w = np.zeros(2), np.eye(2)[0], np.eye(2)[1]
    with pytest.raises(ValueError, match="`u`"):
        regions.slice_partition(None, v, o, np.ones(3), w)
    with pytest.raises(ValueError, match="`extent`"):
        regions.slice_partition(None, v, o, u, w, extent=(1, 0, 0, 1))
    with pytest.raises(ValueError, match="`resolution`"):
        regions.slice_partition(None, v, o, u, w, resolution=1)
    with pytest.raises(TypeError, match="`resolution`"):
        regions.slice_partition(None, v, o, u, w, resolution=2.5)
    with pytest.raises(ValueError, match="`batch_size`"):
        regions.slice_partition(None, v, o, u, w, batch_size=0)
    with pytest.raises(TypeError, match="`model`"):
        regions.slice_partition("mlp", v, o, u, w)
    with pytest.raises(TypeError, match="`partition`"):
        regions.plot_partition(np.zeros((3, 3)))


def test_plot_partition_draws_cells_and_boundaries(rng):
    v = mlp(rng, 2, [4])
    part = regions.slice_partition(
        None, v, np.zeros(2), np.eye(2)[0], np.eye(2)[1], extent=2.0, resolution=32
    )
    fig, ax = plt.subplots()
    assert regions.plot_partition(part, ax=ax) is ax
    assert len(ax.images) == 2  # cells and boundary overlay
    edges = ax.images[1].get_array()[..., 3] > 0
    assert edges.any() and not edges.all()
    plt.close(fig)


def test_facets_of_known_cells():
    # the square |x|, |y| < 1, a line through its corner (1, 1), a line far away
    v = arrangement([[1, 0, -1], [-1, 0, -1], [0, 1, -1], [0, -1, -1], [1, 1, -2], [1, 1, -10]])
    f = regions.cell_facets(None, v, np.array([0.0, 0.0]))
    assert f.tolist() == [True, True, True, True, False, False]
    # two layers: relu(x) + relu(y) - 1 bends at the axes
    two = {
        "params": {
            "hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)},
            "hidden_1": {"kernel": np.ones((2, 1)), "bias": -np.ones(1)},
        }
    }
    pts = np.array([[0.2, 0.2], [-1.0, -1.0], [0.5, -1.0], [3.0, 3.0]])
    got = regions.cell_facets(None, two, pts)
    assert got.tolist() == [
        [True, True, True],  # triangle x, y > 0, x + y < 1
        [True, True, False],  # quadrant: the layer-2 unit is constant there
        [True, True, True],  # strip 0 < x < 1, y < 0
        [True, True, True],  # x, y > 0, x + y > 1
    ]
    # a box on the input clips the cell: the far line then no longer matters either way
    assert regions.cell_facets(None, v, np.zeros(2), bounds=(-0.5, 0.5)).tolist() == [False] * 6


@pytest.mark.slow
def test_facets_against_cell_graph(rng):
    v = mlp(rng, 2, [6, 4], bias=0.5)
    pts = rng.uniform(-1, 1, size=(5, 2))
    facets = regions.cell_facets(None, v, pts)
    graph = regions.cell_graph(
        None, v, np.zeros(2), np.eye(2)[0], np.eye(2)[1], extent=8.0, resolution=400
    )
    node_codes = np.asarray(graph.codes.unpack())
    for p, f in zip(pts, facets, strict=True):
        code = preactivations(v, p[None])[0] > 0
        node = int(np.nonzero((node_codes == code).all(axis=1))[0][0])
        nbrs = graph.edges[(graph.edges == node).any(axis=1)].ravel()
        flipped = np.nonzero((node_codes[nbrs[nbrs != node]] != code).any(axis=0))[0]
        # every neighbour found by the lines crosses a facet; at this resolution all are found
        assert set(flipped.tolist()) == set(np.nonzero(f)[0].tolist())


@pytest.mark.slow
def test_distance_chain_on_random_nets(rng):
    for widths in ([6, 6], [5, 4, 5]):
        v = mlp(rng, 2, widths)
        x, y = rng.uniform(-2, 2, size=(2, 7, 2))
        dh = ((preactivations(v, x) > 0) != (preactivations(v, y) > 0)).sum(axis=1)
        dt = regions.tessellation_distance(None, v, x, y, resolution=64)
        cr = regions.crossing_distance(None, v, x, y)
        fh = regions.facet_hamming(None, v, x, y)
        assert np.all(dh <= dt) and np.all(dt <= cr) and np.all(fh <= dh), (dh, dt, cr, fh)
        assert np.all((dh == 0) == (dt == 0))
    # one layer: an arrangement of lines, where all three coincide
    v = mlp(rng, 2, [7])
    x, y = rng.uniform(-2, 2, size=(2, 9, 2))
    dh = ((preactivations(v, x) > 0) != (preactivations(v, y) > 0)).sum(axis=1)
    assert regions.tessellation_distance(None, v, x, y, resolution=64).tolist() == dh.tolist()
    assert regions.crossing_distance(None, v, x, y).tolist() == dh.tolist()


def test_distance_bad_inputs(rng):
    v3 = mlp(rng, 3, [4])
    with pytest.raises(ValueError, match="2-D input"):
        regions.tessellation_distance(None, v3, np.zeros(3), np.ones(3))
    v = mlp(rng, 2, [4])
    with pytest.raises(ValueError, match="same shape"):
        regions.tessellation_distance(None, v, np.zeros((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="`resolution`"):
        regions.cell_graph(None, v, np.zeros(2), np.eye(2)[0], np.eye(2)[1], resolution=1)
    with pytest.raises(ValueError, match="`bounds`"):
        regions.cell_facets(None, v, np.zeros(2), bounds=(1, 0))
    with pytest.raises(ValueError, match="`x`"):
        regions.cell_facets(None, v, np.full(2, np.inf))
    with pytest.raises(ValueError, match="same shape"):
        regions.facet_hamming(None, v, np.zeros((2, 2)), np.ones((3, 2)))
    with pytest.raises(TypeError, match="`bounds`"):
        regions.cell_facets(None, v, np.zeros(2), bounds=1.0)
    with pytest.raises(TypeError, match="`bounds`"):
        regions.cell_facets(None, v, np.zeros(2), bounds=("a", 1))
    with pytest.raises(ValueError, match="`tol`"):
        regions.cell_facets(None, v, np.zeros(2), tol=-1.0)
    with pytest.raises(TypeError, match="`model`"):
        regions.facet_hamming(nets.CNN((2,), (3,), 2), v, np.zeros(2), np.ones(2))
    with pytest.raises(TypeError, match="`dtype`"):
        regions.line_regions(None, v, np.zeros(2), np.ones(2), dtype=np.int32)
    with pytest.raises(TypeError, match="`variables`"):
        regions.mlp_layers("params")


def test_codes_of_pieces_are_packed(rng):
    v = mlp(rng, 2, [33])
    lr = regions.line_regions(None, v, np.zeros(2), np.ones(2))
    bits = np.asarray(lr.codes.unpack())
    assert lr.codes.n_bits == 33
    assert np.array_equal(np.asarray(pack_bits(bits).words), np.asarray(lr.codes.words))


def test_slice_partition_of_a_binary_mlp(key):
    # Binary nets jit with closed-over variables (sign_ste's check at trace time), so the
    # raster works for them: each pixel's code is its pre-activations' signs. The
    # plane is tilted and shifted so that no pixel sits exactly on a +-1 weight's boundary.
    model = nets.BinaryMLP((6, 5), 3)
    variables = jax.jit(model.init)(key, np.zeros((1, 2), np.float32))
    o = np.array([0.1234567, -0.7654321], np.float32)
    u, v = np.array([0.8, 0.6], np.float32), np.array([-0.6, 0.8], np.float32)
    part = regions.slice_partition(model, variables, o, u, v, extent=2.0, resolution=9)
    a = np.linspace(-2.0, 2.0, 9, dtype=np.float32)
    ab = np.stack(np.meshgrid(a, a, indexing="xy"), axis=-1).reshape(-1, 2)
    pts = o[None] + ab[:, :1] * u[None] + ab[:, 1:] * v[None]
    _, pre = model.apply(variables, pts, train=False, return_preactivations=True)
    want = np.concatenate([np.asarray(p) > 0 for p in pre], axis=1)
    got = np.asarray(part.codes.unpack())[part.ids.reshape(-1)]
    np.testing.assert_array_equal(got, want)  # exact: bits
    assert part.n_cells == len(np.unique(want, axis=0)) > 1
