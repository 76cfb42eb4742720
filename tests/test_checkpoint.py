import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hamgeo.nets import CNN, MLP, BinaryCNN, ResidualCNN, load, model_from_config, save
from hamgeo.nets.checkpoint import MAGIC, model_config


def _same_tree(a, b):
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    assert ta == tb
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))  # bit-exact


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        (MLP((7, 3), 4), (1, 5)),
        (BinaryCNN((2,), (3,), 2, pool_every=1), (1, 6, 6, 1)),
        (ResidualCNN((2,), (), 3), (1, 9)),
    ],
)
def test_round_trip_is_exact(tmp_path, key, model, shape):
    variables = model.init(key, jnp.ones(shape))
    path = save(tmp_path / "m.ckpt", model, variables)
    model2, variables2 = load(path)
    assert model2 == model and type(model2) is type(model)
    _same_tree(variables, variables2)
    x = jax.random.normal(key, (3, *shape[1:]))
    np.testing.assert_array_equal(model.apply(variables, x), model2.apply(variables2, x))


def test_never_overwrites_unless_asked(tmp_path, key):
    model = MLP((3,), 2)
    v = model.init(key, jnp.ones((1, 2)))
    path = tmp_path / "m.ckpt"
    save(path, model, v)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(path, MLP((4,), 2), MLP((4,), 2).init(key, jnp.ones((1, 2))))
    assert path.read_bytes() == before
    save(path, MLP((4,), 2), MLP((4,), 2).init(key, jnp.ones((1, 2))), overwrite=True)
    assert load(path)[0] == MLP((4,), 2)


def test_corrupted_files_raise_value_error_naming_the_file(tmp_path, key):
    model = CNN((2,), (3,), 2)
    v = model.init(key, jnp.ones((1, 4, 4, 1)))
    path = save(tmp_path / "good.ckpt", model, v)
    blob = path.read_bytes()
    cases = {
        "truncated.ckpt": blob[:-10],
        "edited.ckpt": blob[:-20] + bytes([blob[-20] ^ 1]) + blob[-19:],
        "foreign.ckpt": b"PK\x03\x04" + b"\x00" * 100,
        "empty.ckpt": b"",
        "header_only.ckpt": MAGIC + b"\x00" * 5,
    }
    for name, data in cases.items():
        bad = tmp_path / name
        bad.write_bytes(data)
        with pytest.raises(ValueError, match=name):
            load(bad)
    with pytest.raises(FileNotFoundError, match="missing.ckpt"):
        load(tmp_path / "missing.ckpt")


def test_config_round_trip_and_validation():
    for model in (MLP((5,), 2), CNN((3, 4), (6,), 10, pool_every=2), BinaryCNN((1,), (), 2)):
        assert model_from_config(model_config(model)) == model
    with pytest.raises(ValueError, match="unknown model class 'os.system'"):
        model_from_config({"class": "os.system", "widths": [1]})
    with pytest.raises(ValueError, match="does not take"):
        model_from_config({"class": "MLP", "widths": [1], "n_classes": 2, "evil": 1})
    with pytest.raises(ValueError, match="valid MLP"):
        model_from_config({"class": "MLP", "widths": [0], "n_classes": 2})
    with pytest.raises(TypeError, match="to be saved"):
        model_config(jax.numpy.ones(2))


def _forge(path, model, variables):
    """Write a checkpoint of ``variables`` with a valid checksum (what an attacker can do)."""
    import hashlib

    import flax.serialization

    from hamgeo.nets.checkpoint import FORMAT_VERSION

    payload = flax.serialization.msgpack_serialize(
        {
            "format": FORMAT_VERSION,
            "config": model_config(model),
            "variables": jax.tree.map(np.asarray, variables),
        }
    )
    path.write_bytes(MAGIC + hashlib.sha256(payload).digest() + payload)
    return path


def test_forged_checkpoint_with_wrong_shapes_is_refused_at_load(tmp_path, key):
    model = MLP((7, 3), 4)
    v = jax.jit(model.init)(key, jnp.ones((1, 5)))
    wrong = jax.tree.map(np.asarray, v)
    wrong["params"]["hidden_1"]["kernel"] = np.zeros((7, 6), np.float32)  # layer of 6, not 3
    with pytest.raises(
        ValueError,
        match=r"forged.ckpt: `variables` do not fit MLP: "
        r"'params/hidden_1/kernel' has shape \(7, 6\), expected \(7, 3\)",
    ):
        load(_forge(tmp_path / "forged.ckpt", model, wrong))
    missing = jax.tree.map(np.asarray, v)
    del missing["params"]["head"]
    with pytest.raises(ValueError, match="missing.ckpt: .*have no 'params/head/bias'"):
        load(_forge(tmp_path / "missing.ckpt", model, missing))
    extra = jax.tree.map(np.asarray, v)
    extra["params"]["evil"] = {"kernel": np.zeros((2, 2), np.float32)}
    with pytest.raises(ValueError, match="extra.ckpt: .*entries MLP does not make"):
        load(_forge(tmp_path / "extra.ckpt", model, extra))
    ints = jax.tree.map(lambda a: np.asarray(a).astype(np.int32), v)
    with pytest.raises(ValueError, match="ints.ckpt: .*must be a floating array"):
        load(_forge(tmp_path / "ints.ckpt", model, ints))
    nan = jax.tree.map(lambda a: np.full(np.shape(a), np.nan, np.float32), v)
    with pytest.raises(ValueError, match="nan.ckpt: `variables` must be finite"):
        load(_forge(tmp_path / "nan.ckpt", model, nan))


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        (CNN((2, 3), (4,), 2), (1, 9, 7, 1)),
        (CNN((2,), (), 3), (1, 20)),
        (BinaryCNN((2,), (3,), 2), (1, 6, 5, 2)),
        (ResidualCNN((2,), (3,), 2), (1, 11, 1)),
    ],
)
def test_convolutional_checkpoints_of_any_input_size_load(tmp_path, key, model, shape):
    v = jax.jit(model.init)(key, jnp.ones(shape))
    _same_tree(v, load(save(tmp_path / "m.ckpt", model, v))[1])
    # the first dense layer after the convolutions must still take a whole number of pixels
    dense = "hidden_0" if model.dense else "head"
    bad = jax.tree.map(np.asarray, v)
    name = next(k for k in bad["params"][dense] if k.endswith("kernel"))
    rows, cols = bad["params"][dense][name].shape
    bad["params"][dense][name] = np.zeros((rows + 1, cols), np.float32)
    with pytest.raises(ValueError, match=f"'params/{dense}/{name}' has shape"):
        load(_forge(tmp_path / "odd.ckpt", model, bad))


def test_save_refuses_directories_and_leaves_no_temporary_file(tmp_path, key):
    model = MLP((3,), 2)
    v = jax.jit(model.init)(key, jnp.ones((1, 2)))
    folder = tmp_path / "a_directory"
    folder.mkdir()
    with pytest.raises(ValueError, match="`path` must be a file, got the directory"):
        save(folder, model, v, overwrite=True)
    assert folder.is_dir() and not any(folder.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_directory"]  # no stray .tmp
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(tmp_path / "no" / "such" / "m.ckpt", model, v)
    with pytest.raises(ValueError, match="must be a checkpoint file, got the directory"):
        load(folder)
    with pytest.raises(TypeError, match="`path` must be a path"):
        save(None, model, v)
    with pytest.raises(TypeError, match="`overwrite` must be a bool"):
        save(tmp_path / "m.ckpt", model, v, overwrite="yes")
    # a failed write (variables that do not fit) leaves nothing behind either
    with pytest.raises(ValueError, match="`variables` do not fit"):
        save(tmp_path / "m.ckpt", model, MLP((4,), 2).init(key, jnp.ones((1, 2))))
    nan = jax.tree.map(lambda a: a * jnp.nan, v)
    with pytest.raises(ValueError, match="`variables` must be finite"):
        save(tmp_path / "m.ckpt", model, nan)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_directory"]
    save(tmp_path / "m.ckpt", model, v)
    save(tmp_path / "m.ckpt", model, v, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_directory", "m.ckpt"]


def test_config_with_odd_class_entries_raises_value_error():
    for config in ({"class": ["MLP"]}, {"class": None}, {"class": "MLP", "widths": "ab"}, []):
        with pytest.raises(ValueError, match="`config`"):
            model_from_config(config)


def test_save_through_a_symlink_writes_its_target(tmp_path, key):
    model = MLP((3,), 2)
    old, new = model.init(key, jnp.ones((1, 2))), model.init(jax.random.key(7), jnp.ones((1, 2)))
    target = save(tmp_path / "target.ckpt", model, old)
    link = tmp_path / "link.ckpt"
    link.symlink_to(target)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(link, model, new)
    save(link, model, new, overwrite=True)
    assert link.is_symlink() and link.resolve() == target.resolve()  # still a link
    _same_tree(new, load(target)[1])  # and the target holds the new variables
    _same_tree(new, load(link)[1])


def test_load_and_save_refuse_files_that_are_not_regular(tmp_path, key):
    model = MLP((3,), 2)
    v = model.init(key, jnp.ones((1, 2)))
    with pytest.raises(ValueError, match="`path` must be a checkpoint file.*not a regular file"):
        load("/dev/null")
    with pytest.raises(ValueError, match="not a regular file"):
        save("/dev/null", model, v, overwrite=True)
    with pytest.raises(ValueError, match="directory"):
        load(tmp_path)
