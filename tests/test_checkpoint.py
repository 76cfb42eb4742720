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
