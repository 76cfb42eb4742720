"""Build hamgeo's native CPU kernels (``hamgeo._hamming_ffi``) from ``hamgeo/csrc/*.cc``.

The kernels are compiled against the XLA FFI headers that ship inside the ``jaxlib``
wheel (the FFI API is header-only and versioned). ``jaxlib`` is a build requirement in
``pyproject.toml``, so the ordinary isolated builds, ``pip install .`` and
``pip install -e .``, compile them. The kernels run on XLA's intra-op thread pool
(the FFI ``ThreadPool`` context); headers too old to offer it get a build with a
private pool instead. A missing compiler or missing headers never fail the install:
hamgeo then runs its pure-XLA kernels, warns on first use, and ``hamgeo info`` says why.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _ffi_include() -> tuple[list[str], str]:
    """The jaxlib include directory holding ``xla/ffi/api/ffi.h``, and jaxlib's version."""
    try:
        spec = importlib.util.find_spec("jaxlib")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        print("hamgeo: jaxlib not found at build time; skipping the native kernels")
        return [], ""
    root = Path(next(iter(spec.submodule_search_locations)))
    include = root / "include"
    if not (include / "xla" / "ffi" / "api" / "ffi.h").is_file():
        print(f"hamgeo: no XLA FFI headers under {include}; skipping the native kernels")
        return [], ""
    version = ""
    version_file = root / "version.py"
    if version_file.is_file():
        for line in version_file.read_text().splitlines():
            if line.startswith("_version"):
                version = line.split("=", 1)[1].strip().strip("\"'")
                break
    return [str(include)], version


class OptionalBuildExt(build_ext):
    """Build the kernels; retry without XLA's thread pool; never fail the install."""

    def run(self):
        """Build all extensions; report and go on if that fails."""
        try:
            super().run()
        except Exception as err:
            print(f"hamgeo: native kernels not built ({err}); using the XLA kernels")

    def build_extension(self, ext):
        """Build one extension, first with XLA's thread pool, then with a private pool."""
        try:
            super().build_extension(ext)
            return
        except Exception as err:
            print(f"hamgeo: build with XLA's thread pool failed ({err}); retrying without")
        ext.define_macros = [*ext.define_macros, ("HAMGEO_NO_XLA_POOL", "1")]
        try:
            super().build_extension(ext)
        except Exception as err:
            print(f"hamgeo: native kernels not built ({err}); using the XLA kernels")


include, jaxlib_version = _ffi_include()
ext_modules = []
if include and sys.platform != "win32":
    ext_modules.append(
        Extension(
            "hamgeo._hamming_ffi",
            # One file per concern (isa, pool, ffi handlers + kernels, CPython module).
            sources=sorted(str(p) for p in Path("hamgeo/csrc").glob("*.cc")),
            depends=sorted(str(p) for p in Path("hamgeo/csrc").glob("*.h")),
            include_dirs=include,
            define_macros=[("HAMGEO_BUILD_JAXLIB", f'"{jaxlib_version}"')],
            language="c++",
            # No -march=native: the AVX-512 / AVX2 / portable path is chosen at run time
            # (__builtin_cpu_supports), so one wheel serves every x86-64 CPU.
            extra_compile_args=[
                "-O3",
                "-std=c++17",
                "-fvisibility=hidden",
                "-pthread",
                "-Wno-attributes",  # an always_inline in the FFI headers
            ],
            extra_link_args=["-pthread"],
            optional=True,
        )
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
