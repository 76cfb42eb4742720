// AVX2 path: codes split into nibble bytes; XOR + VPSHUFB table lookup counts 32 nibbles per
// instruction in a 4 x 2 tile (codes over 256 bits; ffi.cc takes 64-bit POPCNT below).
// Included by ffi.cc only (templates on a sink).
#pragma once

#include "common.h"

#ifdef HAMGEO_X86
#pragma GCC push_options
#pragma GCC target("avx2,popcnt")
#include <immintrin.h>

namespace hamgeo {
namespace {

// Codes as nibble bytes: per 256-bit chunk, 32 low nibbles then 32 high nibbles (64 bytes).
// XOR commutes with the split, so d_H = sum over nibble bytes of popcount4(a ^ b).
struct Nibbles {
  int64_t rows, rows_padded, nv;  // nv: 32-byte nibble vectors per code (2 per 256 bits)
  AlignedBuf buf;
  Nibbles(const uint32_t* src, int64_t rows_, int64_t w, int64_t pad_to)
      : rows(rows_),
        rows_padded((rows_ + pad_to - 1) / pad_to * pad_to),
        nv(2 * ((w + 7) / 8)),
        buf(static_cast<size_t>(rows_padded * nv * 32)) {
    const int64_t chunks = nv / 2;
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* s = reinterpret_cast<const uint8_t*>(src + r * w);
      const int64_t nbytes = w * 4;
      uint8_t* d = buf.p + r * nv * 32;
      for (int64_t c = 0; c < chunks; ++c) {
        for (int b = 0; b < 32; ++b) {
          int64_t at = c * 32 + b;
          uint8_t v = at < nbytes ? s[at] : 0;
          d[c * 64 + b] = v & 0x0f;
          d[c * 64 + 32 + b] = v >> 4;
        }
      }
    }
  }
  const __m256i* row(int64_t r) const {
    return reinterpret_cast<const __m256i*>(buf.p) + r * nv;
  }
};

// Sums of the 4 uint64 lanes of a, b, c, d (each < 2^32) as 4 int32.
inline __m128i hsum4(__m256i a, __m256i b, __m256i c, __m256i d) {
  __m256i ab = _mm256_hadd_epi32(a, b);
  __m256i cd = _mm256_hadd_epi32(c, d);
  __m256i t = _mm256_hadd_epi32(ab, cd);
  return _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

template <bool kOneChunk, class Sink>
void avx2_rows(const Nibbles& x, const Nibbles& y, int64_t q0, int64_t q1, const Sink& sink) {
  // q0..q1: quads of x rows. Tile: 4 x rows by 2 y rows.
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,  //
                                       0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i zero = _mm256_setzero_si256();
  const int64_t nv = x.nv;
  // Each nibble vector adds <= 4 per byte: 62 vectors stay below 255.
  const int64_t chunk = kOneChunk ? nv : 62;
  const int64_t yblock = std::max<int64_t>(2, (16384 / (32 * nv)) & ~int64_t{1});
  for (int64_t j0 = 0; j0 < y.rows_padded; j0 += yblock) {
    const int64_t j1 = std::min(y.rows_padded, j0 + yblock);
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t i = 4 * q;
      const __m256i* x0 = x.row(i);
      const __m256i* x1 = x.row(i + 1);
      const __m256i* x2 = x.row(i + 2);
      const __m256i* x3 = x.row(i + 3);
      for (int64_t j = j0; j < j1; j += 2) {
        const __m256i* y0 = y.row(j);
        const __m256i* y1 = y.row(j + 1);
        __m256i s00 = zero, s01 = zero, s10 = zero, s11 = zero;
        __m256i s20 = zero, s21 = zero, s30 = zero, s31 = zero;
        for (int64_t v0 = 0; v0 < nv; v0 += chunk) {
          const int64_t v1 = kOneChunk ? nv : std::min(nv, v0 + chunk);
          __m256i a00 = zero, a01 = zero, a10 = zero, a11 = zero;
          __m256i a20 = zero, a21 = zero, a30 = zero, a31 = zero;
          for (int64_t v = v0; v < v1; ++v) {
            const __m256i b0 = _mm256_load_si256(y0 + v);
            const __m256i b1 = _mm256_load_si256(y1 + v);
            __m256i a = _mm256_load_si256(x0 + v);
            a00 = _mm256_add_epi8(a00, _mm256_shuffle_epi8(lut, _mm256_xor_si256(a, b0)));
            a01 = _mm256_add_epi8(a01, _mm256_shuffle_epi8(lut, _mm256_xor_si256(a, b1)));
            a = _mm256_load_si256(x1 + v);
            a10 = _mm256_add_epi8(a10, _mm256_shuffle_epi8(lut, _mm256_xor_si256(a, b0)));
            a11 = _mm256_add_epi8(a11, _mm256_shuffle_epi8(lut, _mm256_xor_si256(a, b1)));
            a = _mm256_load_si256(x2 + v);
            a20 = _mm256_add_epi8(a20, _mm256_shuffle_epi8(lut, _mm256_xor_si256(a, b0)));
            a21 = _mm256_add_epi8(a21, _mm256_shuffle_epi8(lut, _mm256_xor_si256(a, b1)));
            a = _mm256_load_si256(x3 + v);
            a30 = _mm256_add_epi8(a30, _mm256_shuffle_epi8(lut, _mm256_xor_si256(a, b0)));
            a31 = _mm256_add_epi8(a31, _mm256_shuffle_epi8(lut, _mm256_xor_si256(a, b1)));
          }
          s00 = _mm256_add_epi64(s00, _mm256_sad_epu8(a00, zero));
          s01 = _mm256_add_epi64(s01, _mm256_sad_epu8(a01, zero));
          s10 = _mm256_add_epi64(s10, _mm256_sad_epu8(a10, zero));
          s11 = _mm256_add_epi64(s11, _mm256_sad_epu8(a11, zero));
          s20 = _mm256_add_epi64(s20, _mm256_sad_epu8(a20, zero));
          s21 = _mm256_add_epi64(s21, _mm256_sad_epu8(a21, zero));
          s30 = _mm256_add_epi64(s30, _mm256_sad_epu8(a30, zero));
          s31 = _mm256_add_epi64(s31, _mm256_sad_epu8(a31, zero));
        }
        alignas(16) int32_t c0[4], c1[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(c0), hsum4(s00, s10, s20, s30));
        _mm_store_si128(reinterpret_cast<__m128i*>(c1), hsum4(s01, s11, s21, s31));
        for (int r = 0; r < 4; ++r) {
          if (i + r >= x.rows) break;
          sink(i + r, j, c0[r]);
          if (j + 1 < y.rows) sink(i + r, j + 1, c1[r]);
        }
      }
    }
  }
}

template <class Sink>
void run_avx2(const Problem& p, const Pool& pool, int threads, const Sink& sink) {
  Nibbles x(p.x, p.n, p.w, 4), y(p.y, p.m, p.w, 2);
  const int64_t quads = x.rows_padded / 4;
  const int64_t per = chunk_rows(quads, threads, 1);
  pool.run((quads + per - 1) / per, threads, [&](int64_t c) {
    const int64_t q0 = c * per, q1 = std::min(quads, q0 + per);
    if (x.nv <= 62)
      avx2_rows<true>(x, y, q0, q1, sink);
    else
      avx2_rows<false>(x, y, q0, q1, sink);
  });
}

}  // namespace
}  // namespace hamgeo
#pragma GCC pop_options
#endif  // HAMGEO_X86
