"""Build hamgeo's optional native CPU kernels (``hamgeo._hamming_ffi``).

The kernels are compiled against the XLA FFI headers of the installed jaxlib, so
install jax first and build without isolation:
``pip install --no-build-isolation -e .``. A missing compiler or missing headers
never fail the install: hamgeo then runs its pure-XLA kernels
(``hamgeo info`` says which).
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _jax_include() -> list[str]:
    try:
        import jax.ffi

        return [jax.ffi.include_dir()]
    except Exception as err:  # any failure means "no native kernels"
        print(f"hamgeo: jax not importable at build time ({err}); skipping native kernels")
        return []


class OptionalBuildExt(build_ext):
    """Build extensions, but never fail the install because of them."""

    def run(self):
        """Build all extensions; report and go on if that fails."""
        try:
            super().run()
        except Exception as err:
            print(f"hamgeo: native kernels not built ({err}); using the XLA kernels")

    def build_extension(self, ext):
        """Build one extension; report and go on if that fails."""
        try:
            super().build_extension(ext)
        except Exception as err:
            print(f"hamgeo: native kernels not built ({err}); using the XLA kernels")


include = _jax_include()
ext_modules = []
if include and sys.platform != "win32":
    ext_modules.append(
        Extension(
            "hamgeo._hamming_ffi",
            sources=["hamgeo/csrc/hamming.cc"],
            include_dirs=include,
            language="c++",
            # No -march=native: the AVX2 path is chosen at run time (__builtin_cpu_supports).
            extra_compile_args=["-O3", "-std=c++17", "-fvisibility=hidden", "-pthread"],
            extra_link_args=["-pthread"],
            optional=True,
        )
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
