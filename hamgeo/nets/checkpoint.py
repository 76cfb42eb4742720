"""Checkpoints that cannot run code when loaded: msgpack, a model config, and a checksum.

A checkpoint file is ``MAGIC`` (8 bytes), a SHA-256 digest (32 bytes) of the rest,
then a msgpack document (``flax.serialization``) holding the format version, the
model's config (its class name and constructor fields: plain numbers, strings and
tuples) and the variables as arrays. Loading checks the magic, the digest and the
config before building anything, and rebuilds the model from the config through a
fixed table of classes ([`model_from_config`][hamgeo.nets.checkpoint.model_from_config]), never by
unpickling or importing a name found in the file. The variables are then compared with the shapes
``model.init`` makes (``hamgeo.nets.variables``): a forged or mismatched tree is refused at load,
not at first use.

Files are written through hamgeo's I/O leaf (``hamgeo._io``): atomically (a temporary file in
the same folder, flushed, then moved into place), never over an existing file unless
``overwrite=True``, and through a symlink to its target.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import flax.linen as nn
import flax.serialization
import jax
import numpy as np

from hamgeo._checks import check_bool, check_existing_path, check_not_traced, describe
from hamgeo._io import atomic_write_bytes
from hamgeo.nets.binary import BinaryCNN, BinaryMLP
from hamgeo.nets.relu import CNN, MLP, ResidualCNN
from hamgeo.nets.variables import check_finite_variables, check_variables, leaves

__all__ = ["load", "model_config", "model_from_config", "save"]

MAGIC = b"HAMGEO\x01\x00"
FORMAT_VERSION = 1
_MODELS: dict[str, type[nn.Module]] = {
    cls.__name__: cls for cls in (MLP, CNN, ResidualCNN, BinaryMLP, BinaryCNN)
}


def _fields(cls: type[nn.Module]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name not in ("parent", "name")]


def model_config(model: nn.Module) -> dict[str, Any]:
    """The model's class name and constructor fields, as plain JSON-able values.

    Host-only: it returns plain Python values.

    Args:
        model: a model of `hamgeo.nets` (``MLP``, ``CNN``, ``ResidualCNN``,
            ``BinaryMLP``, ``BinaryCNN``).

    Returns:
        ``{"class": name, field: value, ...}`` with sequences as lists.

    Examples:
        >>> from hamgeo.nets import MLP
        >>> model_config(MLP((8, 4), 3))
        {'class': 'MLP', 'widths': [8, 4], 'n_classes': 3}
    """
    name = type(model).__name__
    if _MODELS.get(name) is not type(model):
        raise TypeError(
            f"`model` must be one of {sorted(_MODELS)} to be saved, got {type(model).__name__}"
        )
    config: dict[str, Any] = {"class": name}
    for field in _fields(type(model)):
        value = getattr(model, field)
        config[field] = list(value) if isinstance(value, tuple) else value
    return config


def model_from_config(config: dict[str, Any]) -> nn.Module:
    """Rebuild a model from ``model_config``'s output (a fixed table of classes).

    Host-only: it builds a module from plain Python values.

    Args:
        config: ``{"class": name, field: value, ...}``.

    Returns:
        The model.

    Raises:
        ValueError: unknown class, or missing / unexpected / invalid fields.

    Examples:
        >>> model_from_config({"class": "MLP", "widths": [8, 4], "n_classes": 3})
        MLP(
            # attributes
            widths = (8, 4)
            n_classes = 3
        )
    """
    if not isinstance(config, dict) or "class" not in config:
        raise ValueError(f"`config` must be a dict with a 'class' entry, got {config!r}")
    name = config["class"]
    if not isinstance(name, str) or name not in _MODELS:
        raise ValueError(
            f"`config` names an unknown model class {name!r}; known: {sorted(_MODELS)}"
        )
    cls = _MODELS[name]
    fields = _fields(cls)
    kwargs = {k: v for k, v in config.items() if k != "class"}
    unexpected = sorted(set(kwargs) - set(fields))
    if unexpected:
        raise ValueError(f"`config` has fields {unexpected} that {name} does not take")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    if cls in (BinaryMLP, BinaryCNN) and "norm" not in kwargs:
        kwargs["norm"] = "standard"  # saved before `norm` existed: centred batch norm
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f"`config` does not make a valid {name}: {err}") from None


def _to_host(variables: Any) -> Any:
    return jax.tree.map(lambda a: np.asarray(a), flax.serialization.to_state_dict(variables))


def _kernel(params: Any, layer: str) -> np.ndarray:
    """The kernel leaf (``kernel`` or ``latent_kernel``) of ``params[layer]``."""
    found = [
        leaf
        for path, leaf in leaves(
            params.get(layer, {}) if isinstance(params, Mapping) else {}
        ).items()
        if path.endswith("kernel")
    ]
    if len(found) != 1 or not hasattr(found[0], "shape"):
        raise ValueError(f"`variables` have no kernel for the layer {layer!r}")
    return found[0]


def _probe(model: nn.Module, variables: Any) -> tuple[tuple[int, ...], str | None]:
    """An input shape the variables were made for, and the leaf that depends on its size.

    A model's config does not record its input size. The first layer's kernel gives the
    input width of an MLP, and the channels (and 1-D or 2-D) of a CNN, whose first
    dense layer after the convolutions then has ``h' w' c`` rows for some spatial size:
    a positive multiple of what a 1-pixel probe gives.
    """
    if not isinstance(variables, Mapping) or not isinstance(variables.get("params"), Mapping):
        raise ValueError(f"`variables` must hold a 'params' collection, got {describe(variables)}")
    params = variables["params"]
    dense = getattr(model, "widths", None) or getattr(model, "dense", None)
    first_dense = "hidden_0" if dense else "head"
    if getattr(model, "channels", ()):
        first_conv = "block_0_a" if isinstance(model, ResidualCNN) else "conv_0"
        k = _kernel(params, first_conv)
        if len(k.shape) not in (3, 4):
            raise ValueError(
                f"`variables`: the kernel of {first_conv!r} has shape {tuple(k.shape)}, "
                "expected a 1-D [k, c_in, c_out] or 2-D [k, k, c_in, c_out] convolution"
            )
        dense_kernel = [p for p in leaves(params.get(first_dense, {})) if p.endswith("kernel")]
        free = f"params/{first_dense}/{dense_kernel[0]}" if dense_kernel else None
        return (1,) * (len(k.shape) - 2) + (int(k.shape[-2]),), free
    k = _kernel(params, first_dense)
    return (int(k.shape[0]),), None


def _check_fit(model: nn.Module, variables: Any) -> None:
    """Refuse variables that are not exactly ``model``'s tree of finite float arrays."""
    example, free = _probe(model, variables)
    flat = check_variables(model, variables, example, exact=True, free_rows=free)
    check_finite_variables(flat)


def save(
    path: str | os.PathLike[str], model: nn.Module, variables: Any, *, overwrite: bool = False
) -> Path:
    """Save ``model`` and ``variables`` to a checkpoint file, atomically.

    Host-only: it writes a file.

    Args:
        path: the file to write (its folder must exist; not a directory).
        model: a model of `hamgeo.nets`.
        variables: its variables (``{"params": ..., ["batch_stats": ...]}``), finite,
            with the shapes ``model.init`` makes.
        overwrite: replace an existing file; by default an existing file is an error.

    Returns:
        The path written.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        FileNotFoundError: the folder of ``path`` does not exist.
        TypeError: ``model`` is not a savable model of `hamgeo.nets`; ``path`` is not
            a path; ``overwrite`` is not a bool.
        ValueError: ``path`` is a directory; ``variables`` do not fit ``model`` or hold
            NaN / inf.

    Examples:
        >>> import jax, jax.numpy as jnp, tempfile, os
        >>> from hamgeo.nets import MLP
        >>> model = MLP((4,), 2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 3)))
        >>> path = os.path.join(tempfile.mkdtemp(), "mlp.ckpt")
        >>> _ = save(path, model, variables)
        >>> model2, variables2 = load(path)
        >>> model2 == model, bool((variables2["params"]["head"]["bias"] == 0).all())
        (True, True)
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`path` must be a path (str or os.PathLike), got {describe(path)}")
    path = Path(path).expanduser()
    overwrite = check_bool(overwrite, "overwrite")
    check_not_traced("save", variables)
    config = model_config(model)
    if path.is_dir():
        raise ValueError(f"`path` must be a file, got the directory {str(path)!r}")
    if path.exists() and not path.is_file():
        raise ValueError(f"`path` must be a checkpoint file, got {str(path)!r}: not a regular file")
    if path.exists() and not overwrite:  # refused before any work (and again on writing)
        raise FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"`path`: the folder {str(path.parent)!r} does not exist")
    host = _to_host(variables)
    _check_fit(model, host)
    payload = flax.serialization.msgpack_serialize(
        {"format": FORMAT_VERSION, "config": config, "variables": host}
    )
    blob = MAGIC + hashlib.sha256(payload).digest() + payload
    # Atomic, never replaces a file unless asked, and writes a symlink's target (the
    # link stays a link to the new content).
    return atomic_write_bytes(path, blob, overwrite=overwrite)


def load(path: str | os.PathLike[str]) -> tuple[nn.Module, Any]:
    """Load a checkpoint written by [`save`][hamgeo.nets.checkpoint.save].

    Host-only: it reads a file.

    Args:
        path: the checkpoint file.

    Returns:
        ``(model, variables)``, the variables as NumPy arrays in the saved tree.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        TypeError: ``path`` is not a path.
        ValueError: ``path`` is a directory; the file is not a hamgeo checkpoint, is
            truncated or edited (checksum mismatch), holds an invalid config, or
            variables that do not fit the model (a leaf of the wrong shape, missing or
            extra, or NaN / inf); the message names the file.

    Examples:
        >>> load("/nonexistent.ckpt")
        Traceback (most recent call last):
        ...
        FileNotFoundError: `path`: no such file or directory: '/nonexistent.ckpt'
    """
    path = check_existing_path(path, "path")
    if path.is_dir():
        raise ValueError(f"`path` must be a checkpoint file, got the directory {str(path)!r}")
    if not path.is_file():  # a device, a FIFO or a socket: reading could block or never end
        raise ValueError(f"`path` must be a checkpoint file, got {str(path)!r}: not a regular file")
    blob = path.read_bytes()
    if len(blob) < len(MAGIC) + 32 or blob[: len(MAGIC)] != MAGIC:
        raise ValueError(f"{path} is not a hamgeo checkpoint (bad magic bytes)")
    digest, payload = blob[len(MAGIC) : len(MAGIC) + 32], blob[len(MAGIC) + 32 :]
    if hashlib.sha256(payload).digest() != digest:
        raise ValueError(f"{path} is corrupted: checksum mismatch (truncated or edited)")
    try:
        doc = flax.serialization.msgpack_restore(payload)
    except Exception as err:  # any decoding failure means a bad file
        raise ValueError(f"{path} is not a valid checkpoint: {err}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"{path} has an unknown checkpoint format {found!r}")
    try:
        model = model_from_config(doc.get("config"))  # type: ignore[arg-type]  # checked there
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    variables = doc.get("variables")
    if not isinstance(variables, dict) or "params" not in variables:
        raise ValueError(f"{path} holds no model parameters")
    try:
        _check_fit(model, variables)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None
    return model, variables
