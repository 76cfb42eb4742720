// Shared declarations of hamgeo's native CPU Hamming kernels (see README.md in this folder).
//
// One concern per file: isa.cc (instruction-set detection and selection), pool.cc (threads),
// kernels_{portable,avx2,avx512}.h (the XOR + popcount kernels, templated on a sink),
// ffi.cc (the XLA FFI handlers that run them), module.cc (the CPython module `_hamming_ffi`).
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "xla/ffi/api/ffi.h"

#if !defined(HAMGEO_NO_XLA_POOL)
#define HAMGEO_XLA_POOL 1
#endif

#if defined(__x86_64__) || defined(_M_X64)
#define HAMGEO_X86 1
#endif

namespace hamgeo {

namespace ffi = xla::ffi;

// ------------------------------------------------------------------------------ instruction sets

enum Isa : int { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };
extern const char* const kIsaNames[3];

Isa best_isa();         // the best path this CPU runs
int current_isa();      // the path in use (best, lowered by HAMGEO_NATIVE_ISA or set_isa)
int set_isa(int want);  // use `want` or the best below it; returns the path used
int isa_from_name(const char* name);  // -1 for none/empty, -2 for an unknown name

// ----------------------------------------------------------------------------------- threads

int usable_cpus();
int last_pool();     // 0 none yet, 1 XLA, 2 own, 3 caller only
int last_threads();
int threads_for(double bit_ops, int workers);

struct Pool {
#ifdef HAMGEO_XLA_POOL
  ffi::ThreadPool* xla = nullptr;
#endif
  int workers() const;
  // Run fn(c) for c in [0, chunks) on up to `threads` workers (the caller included).
  void run(int64_t chunks, int threads, std::function<void(int64_t)> fn) const;
};

// ----------------------------------------------------------------------------------- buffers

struct AlignedBuf {
  uint8_t* p = nullptr;
  explicit AlignedBuf(size_t bytes) {
    size_t sz = ((bytes + 63) / 64) * 64;
    if (sz == 0) sz = 64;
    p = static_cast<uint8_t*>(std::aligned_alloc(64, sz));
    std::memset(p, 0, sz);
  }
  ~AlignedBuf() { std::free(p); }
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
};

// The work of one call on one batch element.
struct Problem {
  const uint32_t* x;
  const uint32_t* y;
  int64_t n, m, w;  // rows of x, rows of y, uint32 words per code
};

// Rows of x split into chunks of `rows` (a multiple of `align`), enough for load balance.
inline int64_t chunk_rows(int64_t n, int threads, int64_t align) {
  if (threads <= 1) return ((n + align - 1) / align) * align;
  int64_t rows = n / (8 * threads);
  rows = std::max<int64_t>(align, std::min<int64_t>(rows, 256));
  return ((rows + align - 1) / align) * align;
}

// ------------------------------------------------------------------------------------- sinks

// Insert (dist, j) into the ascending top-k (d, idx); equal distances keep the earlier entry.
inline void topk_push(int32_t* d, int32_t* idx, int k, int32_t dist, int32_t j) {
  if (dist >= d[k - 1]) return;
  int p = k - 1;
  while (p > 0 && d[p - 1] > dist) {
    d[p] = d[p - 1];
    idx[p] = idx[p - 1];
    --p;
  }
  d[p] = dist;
  idx[p] = j;
}

// Pairwise output of type T (int32, uint16 or uint8: the caller checked the range).
template <class T>
struct StoreSink {
  T* out;
  int64_t m;
  int32_t truncate;
  inline void operator()(int64_t i, int64_t j, int32_t d) const {
    out[i * m + j] = static_cast<T>((truncate > 0 && d > truncate) ? truncate : d);
  }
};

struct KnnSink {
  int32_t* dist;
  int32_t* index;
  int k;
  bool exclude_self;
  int64_t offset;
  inline void operator()(int64_t i, int64_t j, int32_t d) const {
    if (exclude_self && j == i + offset) return;
    topk_push(dist + i * k, index + i * k, k, d, static_cast<int32_t>(j));
  }
};

}  // namespace hamgeo
