"""The package is typed: ``py.typed`` ships, and the lazy ``hamgeo`` namespace is consistent.

``hamgeo/__init__.py`` loads its public names on first use (so the command line answers
``--help`` without importing JAX); type checkers read its ``TYPE_CHECKING`` imports instead.
The two lists must name the same things from the same modules. mypy itself runs in
``make test`` (``python -m mypy hamgeo``, configured in ``pyproject.toml``).
"""

import ast
import subprocess
import sys
from pathlib import Path

import hamgeo

INIT = Path(hamgeo.__file__)


def _type_checking_imports() -> dict[str, str]:
    tree = ast.parse(INIT.read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                for alias in stmt.names:
                    found[alias.asname or alias.name] = stmt.module
    return found


def test_py_typed_ships():
    assert (INIT.parent / "py.typed").is_file()


def test_lazy_exports_match_what_type_checkers_see():
    assert _type_checking_imports() == hamgeo._EXPORTS
    assert set(hamgeo.__all__) == {"__version__", *hamgeo._EXPORTS}


def test_every_export_resolves_and_import_is_light():
    for name, module in hamgeo._EXPORTS.items():
        assert getattr(hamgeo, name).__module__.startswith(module.rpartition(".")[0]), name
    code = "import sys, hamgeo; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_a_function_named_like_its_module_stays_the_function():
    code = (
        "import types, hamgeo.mmd, hamgeo; from hamgeo import mmd;"
        "print(isinstance(hamgeo.mmd, types.FunctionType), mmd is hamgeo.mmd)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split()[-2:] == ["True", "True"], out.stderr
