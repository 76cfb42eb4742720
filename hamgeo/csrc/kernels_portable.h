// Portable path: 64-bit XOR + popcount in plain C++ (no instruction-set assumption), and the
// same code compiled with hardware POPCNT on x86. Included by ffi.cc only (templates on a sink).
#pragma once

#include "common.h"

namespace hamgeo {
namespace {

// Codes repacked as uint64 rows of w64 words (zero padded).
struct Rows64 {
  int64_t rows, w64;
  AlignedBuf buf;
  Rows64(const uint32_t* src, int64_t rows_, int64_t w)
      : rows(rows_), w64((w + 1) / 2), buf(static_cast<size_t>(rows_ * ((w + 1) / 2) * 8)) {
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(buf.p + r * w64 * 8, src + r * w, static_cast<size_t>(w) * 4);
  }
  const uint64_t* row(int64_t r) const {
    return reinterpret_cast<const uint64_t*>(buf.p) + r * w64;
  }
};

template <class Sink>
inline __attribute__((always_inline)) void scalar_rows(const Rows64& x, const Rows64& y,
                                                       int64_t i0, int64_t i1, const Sink& sink) {
  const int64_t w = x.w64;
  const int64_t yblock = std::max<int64_t>(1, 16384 / (8 * w));
  for (int64_t j0 = 0; j0 < y.rows; j0 += yblock) {
    const int64_t j1 = std::min(y.rows, j0 + yblock);
    for (int64_t i = i0; i < i1; ++i) {
      const uint64_t* a = x.row(i);
      for (int64_t j = j0; j < j1; ++j) {
        const uint64_t* b = y.row(j);
        int64_t s = 0;
        for (int64_t t = 0; t < w; ++t) s += __builtin_popcountll(a[t] ^ b[t]);
        sink(i, j, static_cast<int32_t>(s));
      }
    }
  }
}

// Codes of W 64-bit words, W known at compile time: two queries' words stay in registers
// and share each base load.
template <int W, class Sink>
inline __attribute__((always_inline)) void scalar_fixed(const Rows64& x, const Rows64& y,
                                                        int64_t i0, int64_t i1, const Sink& sink) {
  const int64_t yblock = 4096;
  for (int64_t j0 = 0; j0 < y.rows; j0 += yblock) {
    const int64_t j1 = std::min(y.rows, j0 + yblock);
    int64_t i = i0;
    for (; i + 1 < i1; i += 2) {
      uint64_t a[W], c[W];
      for (int t = 0; t < W; ++t) a[t] = x.row(i)[t];
      for (int t = 0; t < W; ++t) c[t] = x.row(i + 1)[t];
      const uint64_t* b = y.row(j0);
      for (int64_t j = j0; j < j1; ++j, b += W) {
        int32_t s = 0, u = 0;
        for (int t = 0; t < W; ++t) {
          const uint64_t bt = b[t];
          s += __builtin_popcountll(a[t] ^ bt);
          u += __builtin_popcountll(c[t] ^ bt);
        }
        sink(i, j, s);
        sink(i + 1, j, u);
      }
    }
    for (; i < i1; ++i) {
      uint64_t a[W];
      for (int t = 0; t < W; ++t) a[t] = x.row(i)[t];
      const uint64_t* b = y.row(j0);
      for (int64_t j = j0; j < j1; ++j, b += W) {
        int32_t s = 0;
        for (int t = 0; t < W; ++t) s += __builtin_popcountll(a[t] ^ b[t]);
        sink(i, j, s);
      }
    }
  }
}

template <class Sink>
inline __attribute__((always_inline)) void scalar_dispatch(const Rows64& x, const Rows64& y,
                                                           int64_t i0, int64_t i1,
                                                           const Sink& sink) {
  switch (x.w64) {
    case 1: return scalar_fixed<1>(x, y, i0, i1, sink);
    case 2: return scalar_fixed<2>(x, y, i0, i1, sink);
    case 3: return scalar_fixed<3>(x, y, i0, i1, sink);
    case 4: return scalar_fixed<4>(x, y, i0, i1, sink);
    default: return scalar_rows(x, y, i0, i1, sink);
  }
}

template <class Sink>
void scalar_portable(const Rows64& x, const Rows64& y, int64_t i0, int64_t i1, const Sink& sink) {
  scalar_dispatch(x, y, i0, i1, sink);
}

#ifdef HAMGEO_X86
template <class Sink>
__attribute__((target("popcnt"))) void scalar_popcnt(const Rows64& x, const Rows64& y,
                                                     int64_t i0, int64_t i1, const Sink& sink) {
  scalar_dispatch(x, y, i0, i1, sink);
}
#endif

template <class Sink>
void run_scalar(const Problem& p, const Pool& pool, int threads, bool hw_popcnt,
                const Sink& sink) {
  Rows64 x(p.x, p.n, p.w), y(p.y, p.m, p.w);
  const int64_t rows = chunk_rows(p.n, threads, 1);
  pool.run((p.n + rows - 1) / rows, threads, [&](int64_t c) {
    const int64_t i0 = c * rows, i1 = std::min(p.n, i0 + rows);
#ifdef HAMGEO_X86
    if (hw_popcnt) return scalar_popcnt(x, y, i0, i1, sink);
#endif
    (void)hw_popcnt;
    scalar_portable(x, y, i0, i1, sink);
  });
}

}  // namespace
}  // namespace hamgeo
