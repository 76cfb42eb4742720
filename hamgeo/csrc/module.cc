// The CPython module `hamgeo._hamming_ffi`: the FFI handler capsules that hamgeo/hamming/
// _native.py registers with XLA, and the facts `hamgeo info` prints (ISA path, pool, build).
#include <Python.h>

#include "common.h"

XLA_FFI_DECLARE_HANDLER_SYMBOL(HamgeoPairwise);
XLA_FFI_DECLARE_HANDLER_SYMBOL(HamgeoKnn);

#ifndef HAMGEO_BUILD_JAXLIB
#define HAMGEO_BUILD_JAXLIB ""
#endif

namespace {

PyObject* capsules(PyObject*, PyObject*) {
  return Py_BuildValue(
      "{s:N,s:N}", "hamgeo_pairwise",
      PyCapsule_New(reinterpret_cast<void*>(&HamgeoPairwise), nullptr, nullptr), "hamgeo_knn",
      PyCapsule_New(reinterpret_cast<void*>(&HamgeoKnn), nullptr, nullptr));
}

PyObject* isa(PyObject*, PyObject*) {
  return PyUnicode_FromString(hamgeo::kIsaNames[hamgeo::current_isa()]);
}

PyObject* best_isa(PyObject*, PyObject*) {
  return PyUnicode_FromString(hamgeo::kIsaNames[hamgeo::best_isa()]);
}

PyObject* set_isa(PyObject*, PyObject* arg) {
  const char* name = PyUnicode_AsUTF8(arg);
  if (name == nullptr) return nullptr;
  const int want = hamgeo::isa_from_name(name);
  if (want < 0) {
    PyErr_Format(PyExc_ValueError, "unknown instruction-set path %R (portable, avx2, avx512)",
                 arg);
    return nullptr;
  }
  return PyUnicode_FromString(hamgeo::kIsaNames[hamgeo::set_isa(want)]);
}

// Whether the kernels were built to run on XLA's intra-op pool (a borrowed reference).
PyObject* xla_pool_compiled() {
#ifdef HAMGEO_XLA_POOL
  return Py_True;
#else
  return Py_False;
#endif
}

PyObject* pool_info(PyObject*, PyObject*) {
  static const char* const names[] = {"none yet", "xla", "own", "caller"};
  PyObject* xla_pool = xla_pool_compiled();
  return Py_BuildValue("{s:O,s:s,s:i,s:i}", "xla_pool_compiled", xla_pool, "last_pool",
                       names[hamgeo::last_pool()], "last_threads", hamgeo::last_threads(),
                       "usable_cpus", hamgeo::usable_cpus());
}

PyObject* build_info(PyObject*, PyObject*) {
  PyObject* pool = xla_pool_compiled();
  return Py_BuildValue("{s:s,s:i,s:i,s:O}", "jaxlib", HAMGEO_BUILD_JAXLIB, "ffi_api_major",
                       XLA_FFI_API_MAJOR, "ffi_api_minor", XLA_FFI_API_MINOR, "xla_pool", pool);
}

PyMethodDef kMethods[] = {
    {"capsules", capsules, METH_NOARGS, "FFI handler capsules by target name."},
    {"isa", isa, METH_NOARGS, "The instruction-set path in use."},
    {"best_isa", best_isa, METH_NOARGS, "The best instruction-set path this CPU runs."},
    {"set_isa", set_isa, METH_O, "Use this path (or the best below it); returns the path used."},
    {"pool_info", pool_info, METH_NOARGS, "Thread pool of the last call, usable CPUs."},
    {"build_info", build_info, METH_NOARGS, "jaxlib headers and FFI API version built against."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef kModule = {PyModuleDef_HEAD_INIT, "_hamming_ffi", nullptr, -1, kMethods};

}  // namespace

PyMODINIT_FUNC PyInit__hamming_ffi(void) { return PyModule_Create(&kModule); }
