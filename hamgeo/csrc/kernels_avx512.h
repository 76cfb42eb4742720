// AVX-512 VPOPCNTDQ path. The base codes are transposed into blocks of 16 rows (word t of 16
// codes in one 512-bit vector); a query word is broadcast, XORed and counted against 16 base
// codes at once, so 16 distances build up in the 16 lanes of a register with no horizontal
// sum. Tiles of 4 queries x 32 base codes (the fastest of 2x64, 4x32, 4x64, 6x32 and 8x32
// measured on an AMD EPYC with AVX-512). Included by ffi.cc only (templates on a sink).
#pragma once

#include "common.h"

#ifdef HAMGEO_X86
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vpopcntdq,popcnt")
#include <immintrin.h>

namespace hamgeo {
namespace {

// Base codes transposed in blocks of 16: word t of codes 16b .. 16b+15 is one 64-byte vector
// at (b * w + t) * 16. Rows past m are zero (their lanes are masked off at the sink).
struct Lanes {
  int64_t rows, blocks, w;
  AlignedBuf buf;
  Lanes(const uint32_t* src, int64_t rows_, int64_t w_)
      : rows(rows_),
        blocks((rows_ + 15) / 16 + 1),  // + 1 zero block: tiles of two blocks never read past
        w(w_),
        buf(static_cast<size_t>(((rows_ + 15) / 16 + 1) * w_ * 64)) {
    uint32_t* dst = reinterpret_cast<uint32_t*>(buf.p);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t b = r / 16, l = r % 16;
      for (int64_t t = 0; t < w; ++t) dst[(b * w + t) * 16 + l] = src[r * w + t];
    }
  }
  const uint32_t* block(int64_t b) const {
    return reinterpret_cast<const uint32_t*>(buf.p) + b * w * 16;
  }
};

template <class T>
inline __attribute__((always_inline)) void put_vec(const StoreSink<T>& s, int64_t i, int64_t j, __m512i d, __mmask16 valid) {
  if (s.truncate > 0) d = _mm512_min_epi32(d, _mm512_set1_epi32(s.truncate));
  T* dst = s.out + i * s.m + j;
  if constexpr (sizeof(T) == 4) {
    _mm512_mask_storeu_epi32(dst, valid, d);
  } else if constexpr (sizeof(T) == 2) {
    _mm256_mask_storeu_epi16(dst, valid, _mm512_cvtepi32_epi16(d));
  } else {
    _mm_mask_storeu_epi8(dst, valid, _mm512_cvtepi32_epi8(d));
  }
}

// The rare path: some of 16 candidates beat the current k-th best.
__attribute__((noinline)) void knn_push16(const KnnSink& s, int64_t i, int64_t j, __m512i d,
                                          __mmask16 keep) {
  alignas(64) int32_t v[16];
  _mm512_store_si512(v, d);
  while (keep) {
    const int l = __builtin_ctz(keep);
    keep &= keep - 1;
    s(i, j + l, v[l]);
  }
}

inline __attribute__((always_inline)) void put_vec(const KnnSink& s, int64_t i, int64_t j,
                                                   __m512i d, __mmask16 valid) {
  // Most candidates lose to the current k-th best: one compare for 16 of them.
  const int32_t worst = s.dist[i * s.k + s.k - 1];
  const __mmask16 keep = valid & _mm512_cmplt_epi32_mask(d, _mm512_set1_epi32(worst));
  if (keep) knn_push16(s, i, j, d, keep);
}

// R query rows x V blocks of 16 base codes: R * V accumulators of 16 distances each.
template <int R, int V, class Sink>
inline __attribute__((always_inline)) void lanes_tile(const uint32_t* x, int64_t w, int64_t i,
                                                      const Lanes& y, int64_t b, int64_t m,
                                                      const Sink& sink) {
  __m512i acc[R][V];
  const uint32_t* xr[R];
  for (int r = 0; r < R; ++r) {
    xr[r] = x + (i + r) * w;
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_si512();
  }
  const uint32_t* yb = y.block(b);
  for (int64_t t = 0; t < w; ++t) {
    __m512i yv[V];
    for (int v = 0; v < V; ++v) yv[v] = _mm512_load_si512(yb + (v * w + t) * 16);
    for (int r = 0; r < R; ++r) {
      const __m512i xv = _mm512_set1_epi32(static_cast<int>(xr[r][t]));
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm512_add_epi32(acc[r][v],
                                     _mm512_popcnt_epi32(_mm512_xor_si512(xv, yv[v])));
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) {
      const int64_t j = (b + v) * 16;
      if (j >= m) break;
      const int64_t left = m - j;
      const __mmask16 valid = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
      put_vec(sink, i + r, j, acc[r][v], valid);
    }
  }
}

template <class Sink>
void avx512_rows(const uint32_t* x, const Lanes& y, int64_t i0, int64_t i1, const Sink& sink) {
  const int64_t w = y.w, m = y.rows, nb = (m + 15) / 16;
  // Base blocks per pass: about 128 KiB of base codes stay in L2 while the rows sweep them.
  const int64_t per = std::max<int64_t>(2, (2048 / std::max<int64_t>(w, 1)) & ~int64_t{1});
  for (int64_t b0 = 0; b0 < nb; b0 += per) {
    const int64_t b1 = std::min(nb, b0 + per);
    int64_t i = i0;
    for (; i + 4 <= i1; i += 4)
      for (int64_t b = b0; b < b1; b += 2) lanes_tile<4, 2>(x, w, i, y, b, m, sink);
    for (; i < i1; ++i)
      for (int64_t b = b0; b < b1; b += 2) lanes_tile<1, 2>(x, w, i, y, b, m, sink);
  }
}

template <class Sink>
void run_avx512(const Problem& p, const Pool& pool, int threads, const Sink& sink) {
  Lanes y(p.y, p.m, p.w);
  const int64_t rows = chunk_rows(p.n, threads, 4);
  pool.run((p.n + rows - 1) / rows, threads, [&](int64_t c) {
    const int64_t i0 = c * rows, i1 = std::min(p.n, i0 + rows);
    avx512_rows(p.x, y, i0, i1, sink);
  });
}

}  // namespace
}  // namespace hamgeo
#pragma GCC pop_options
#endif  // HAMGEO_X86
