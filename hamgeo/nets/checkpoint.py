"""Checkpoints that cannot run code when loaded: msgpack, a model config, and a checksum.

A checkpoint file is ``MAGIC`` (8 bytes), a SHA-256 digest (32 bytes) of the rest,
then a msgpack document (``flax.serialization``) holding the format version, the
model's config (its class name and constructor fields: plain numbers, strings and
tuples) and the variables as arrays. Loading checks the magic, the digest and the
config before building anything, and rebuilds the model from the config through a
fixed table of classes (:func:`model_from_config`), never by unpickling or importing
a name found in the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

import flax.linen as nn
import flax.serialization
import jax
import numpy as np

from hamgeo.nets.binary import BinaryCNN, BinaryMLP
from hamgeo.nets.relu import CNN, MLP, ResidualCNN

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

    Args:
        model: a model of :mod:`hamgeo.nets` (``MLP``, ``CNN``, ``ResidualCNN``,
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
    """Rebuild a model from :func:`model_config`'s output (a fixed table of classes).

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
    if name not in _MODELS:
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


def save(
    path: str | os.PathLike[str], model: nn.Module, variables: Any, *, overwrite: bool = False
) -> Path:
    """Save ``model`` and ``variables`` to a checkpoint file.

    Args:
        path: the file to write.
        model: a model of :mod:`hamgeo.nets`.
        variables: its variables (``{"params": ..., ["batch_stats": ...]}``).
        overwrite: replace an existing file; by default an existing file is an error.

    Returns:
        The path written.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        TypeError: ``model`` is not a savable model of :mod:`hamgeo.nets`.

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
    path = Path(path)
    config = model_config(model)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    payload = flax.serialization.msgpack_serialize(
        {"format": FORMAT_VERSION, "config": config, "variables": _to_host(variables)}
    )
    blob = MAGIC + hashlib.sha256(payload).digest() + payload
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, path)  # never leave a half-written checkpoint under `path`
    return path


def load(path: str | os.PathLike[str]) -> tuple[nn.Module, Any]:
    """Load a checkpoint written by :func:`save`.

    Args:
        path: the checkpoint file.

    Returns:
        ``(model, variables)``, the variables as NumPy arrays in the saved tree.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a hamgeo checkpoint, is truncated or edited
            (checksum mismatch), or holds an invalid config; the message names the file.

    Examples:
        >>> load("/nonexistent.ckpt")
        Traceback (most recent call last):
        ...
        FileNotFoundError: /nonexistent.ckpt not found
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
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
        raise ValueError(f"{path} has an unknown checkpoint format {doc.get('format')!r}")
    try:
        model = model_from_config(doc.get("config"))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    variables = doc.get("variables")
    if not isinstance(variables, dict) or "params" not in variables:
        raise ValueError(f"{path} holds no model parameters")
    return model, variables
