// Native CPU Hamming kernels for hamgeo, called from JAX through the XLA FFI.
//
//   hamgeo_pairwise(x u32[..., N, W], y u32[..., M, W]) -> s32[..., N, M]   attr truncate (0 = none)
//   hamgeo_knn(q u32[..., N, W], base u32[..., M, W], offset s32[...])
//       -> (s32[..., N, k] distances, s32[..., N, k] indices)               attrs k, exclude_self
//
// Two paths, chosen at run time:
//   * AVX2 (when the CPU has it, __builtin_cpu_supports): codes are split into nibble bytes
//     once; XOR of nibbles + VPSHUFB table lookup counts 32 nibbles per instruction, in a
//     4 x 2 register tile of (query, base) pairs, base blocks sized for L1.
//   * portable: 64-bit XOR + popcount (POPCNT instruction where the CPU has it).
// Rows of x / queries are split over std::threads. k-NN keeps a running sorted top-k per query
// (strict "<" on insertion: base indices arrive in ascending order, so ties keep the smaller index).
#include <Python.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// ------------------------------------------------------------------------------------ utilities

int max_threads() {
  if (const char* env = std::getenv("HAMGEO_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

// Run f(lo, hi) over contiguous chunks of [0, n) on up to `threads` threads.
template <class F>
void parallel_for(int64_t n, int threads, F f) {
  threads = static_cast<int>(std::min<int64_t>(threads, n));
  if (threads <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  int64_t chunk = (n + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    int64_t lo = t * chunk, hi = std::min(n, lo + chunk);
    if (lo < hi) pool.emplace_back(f, lo, hi);
  }
  f(int64_t{0}, std::min(n, chunk));
  for (auto& th : pool) th.join();
}

int threads_for(double bit_ops) {
  // Below ~2e7 bit-pair operations a thread costs more than it saves.
  int t = static_cast<int>(bit_ops / 2e7);
  return std::max(1, std::min(max_threads(), t));
}

struct AlignedBuf {
  uint8_t* p = nullptr;
  explicit AlignedBuf(size_t bytes) {
    size_t sz = ((bytes + 63) / 64) * 64;
    p = static_cast<uint8_t*>(std::aligned_alloc(64, sz == 0 ? 64 : sz));
    std::memset(p, 0, sz == 0 ? 64 : sz);
  }
  ~AlignedBuf() { std::free(p); }
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
};

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

// The work of one call on one batch element.
struct Problem {
  const uint32_t* x;
  const uint32_t* y;
  int64_t n, m, w;  // rows of x, rows of y, uint32 words per code
  // pairwise
  int32_t* out = nullptr;
  int32_t truncate = 0;
  // knn
  int32_t* dist = nullptr;
  int32_t* index = nullptr;
  int k = 0;
  bool exclude_self = false;
  int64_t offset = 0;
};

struct PairwiseSink {
  int32_t* out;
  int64_t m;
  int32_t truncate;
  inline void operator()(int64_t i, int64_t j, int32_t d) const {
    out[i * m + j] = (truncate > 0 && d > truncate) ? truncate : d;
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

// ---------------------------------------------------------------------- portable 64-bit path

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
                                                       int64_t i0, int64_t i1, Sink sink) {
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
                                                        int64_t i0, int64_t i1, Sink sink) {
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
                                                           int64_t i0, int64_t i1, Sink sink) {
  switch (x.w64) {
    case 1: return scalar_fixed<1>(x, y, i0, i1, sink);
    case 2: return scalar_fixed<2>(x, y, i0, i1, sink);
    case 3: return scalar_fixed<3>(x, y, i0, i1, sink);
    case 4: return scalar_fixed<4>(x, y, i0, i1, sink);
    default: return scalar_rows(x, y, i0, i1, sink);
  }
}

template <class Sink>
void scalar_generic(const Rows64& x, const Rows64& y, int64_t i0, int64_t i1, Sink sink) {
  scalar_dispatch(x, y, i0, i1, sink);
}

template <class Sink>
__attribute__((target("popcnt"))) void scalar_popcnt(const Rows64& x, const Rows64& y,
                                                     int64_t i0, int64_t i1, Sink sink) {
  scalar_dispatch(x, y, i0, i1, sink);
}

}  // namespace

// --------------------------------------------------------------------------------- AVX2 path
#if defined(__x86_64__) || defined(_M_X64)
#define HAMGEO_X86 1
#pragma GCC push_options
#pragma GCC target("avx2,popcnt")
#include <immintrin.h>

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
void avx2_rows(const Nibbles& x, const Nibbles& y, int64_t q0, int64_t q1, Sink sink) {
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

}  // namespace
#pragma GCC pop_options
#endif

namespace {

bool use_avx2(int64_t w) {
#ifdef HAMGEO_X86
  // Short codes waste most of a 256-bit vector; 64-bit popcount is better there.
  return w > 8 && __builtin_cpu_supports("avx2") && !std::getenv("HAMGEO_NO_AVX2");
#else
  (void)w;
  return false;
#endif
}

bool has_popcnt() {
#ifdef HAMGEO_X86
  return __builtin_cpu_supports("popcnt");
#else
  return false;
#endif
}

template <class MakeSink>
void run(const Problem& p, MakeSink make_sink) {
  const double ops = static_cast<double>(p.n) * p.m * p.w * 32;
  const int threads = threads_for(ops);
#ifdef HAMGEO_X86
  if (use_avx2(p.w)) {
    Nibbles x(p.x, p.n, p.w, 4), y(p.y, p.m, p.w, 2);
    parallel_for(x.rows_padded / 4, threads, [&](int64_t q0, int64_t q1) {
      if (x.nv <= 62)
        avx2_rows<true>(x, y, q0, q1, make_sink());
      else
        avx2_rows<false>(x, y, q0, q1, make_sink());
    });
    return;
  }
#endif
  Rows64 x(p.x, p.n, p.w), y(p.y, p.m, p.w);
  const bool pc = has_popcnt();
  parallel_for(p.n, threads, [&](int64_t i0, int64_t i1) {
    if (pc)
      scalar_popcnt(x, y, i0, i1, make_sink());
    else
      scalar_generic(x, y, i0, i1, make_sink());
  });
}

// Large outputs are fresh anonymous memory from XLA's allocator: ask for transparent huge
// pages so that first-touch page faults (one per 4 KiB otherwise) do not dominate the call.
void advise_huge(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = uintptr_t{1} << 21;
  if (bytes < 4 * huge) return;
  uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(huge - 1);
  uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(huge - 1);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

int64_t batch_of(ffi::Span<const int64_t> dims) {
  int64_t b = 1;
  for (size_t a = 0; a + 2 < dims.size(); ++a) b *= dims[a];
  return b;
}

ffi::Error PairwiseImpl(ffi::Buffer<ffi::U32> x, ffi::Buffer<ffi::U32> y,
                        ffi::ResultBuffer<ffi::S32> out, int32_t truncate) {
  auto xd = x.dimensions(), yd = y.dimensions();
  if (xd.size() < 2 || yd.size() != xd.size() || xd.back() != yd.back())
    return ffi::Error::InvalidArgument("hamgeo_pairwise: x, y must be [..., n, W] alike");
  const int64_t batch = batch_of(xd), n = xd[xd.size() - 2], m = yd[yd.size() - 2];
  const int64_t w = xd.back();
  if (batch_of(yd) != batch) return ffi::Error::InvalidArgument("hamgeo_pairwise: batch dims");
  advise_huge(out->untyped_data(), static_cast<size_t>(batch * n * m) * 4);
  for (int64_t b = 0; b < batch; ++b) {
    Problem p{x.typed_data() + b * n * w, y.typed_data() + b * m * w, n, m, w};
    int32_t* o = out->typed_data() + b * n * m;
    if (n == 0 || m == 0) continue;
    if (w == 0) {
      std::fill(o, o + n * m, 0);
      continue;
    }
    run(p, [&] { return PairwiseSink{o, m, truncate}; });
  }
  return ffi::Error::Success();
}

ffi::Error KnnImpl(ffi::Buffer<ffi::U32> q, ffi::Buffer<ffi::U32> base,
                   ffi::Buffer<ffi::S32> offset, ffi::ResultBuffer<ffi::S32> dist,
                   ffi::ResultBuffer<ffi::S32> index, int32_t k, int32_t exclude_self) {
  auto qd = q.dimensions(), bd = base.dimensions();
  if (qd.size() < 2 || bd.size() != qd.size() || qd.back() != bd.back())
    return ffi::Error::InvalidArgument("hamgeo_knn: queries, base must be [..., n, W] alike");
  const int64_t batch = batch_of(qd), n = qd[qd.size() - 2], m = bd[bd.size() - 2];
  const int64_t w = qd.back();
  if (batch_of(bd) != batch) return ffi::Error::InvalidArgument("hamgeo_knn: batch dims");
  if (k < 1 || k > m) return ffi::Error::InvalidArgument("hamgeo_knn: k out of range");
  if (w == 0) return ffi::Error::InvalidArgument("hamgeo_knn: codes need at least one word");
  const int64_t n_off = static_cast<int64_t>(offset.element_count());
  for (int64_t b = 0; b < batch; ++b) {
    int32_t* d = dist->typed_data() + b * n * k;
    int32_t* ix = index->typed_data() + b * n * k;
    std::fill(d, d + n * k, INT_MAX);
    std::fill(ix, ix + n * k, -1);
    if (n == 0) continue;
    const int64_t off = n_off == 0 ? 0 : offset.typed_data()[n_off == batch ? b : 0];
    Problem p{q.typed_data() + b * n * w, base.typed_data() + b * m * w, n, m, w};
    run(p, [&] { return KnnSink{d, ix, k, exclude_self != 0, off}; });
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(HamgeoPairwise, PairwiseImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()
                                  .Arg<ffi::Buffer<ffi::U32>>()
                                  .Ret<ffi::Buffer<ffi::S32>>()
                                  .Attr<int32_t>("truncate"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(HamgeoKnn, KnnImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()
                                  .Arg<ffi::Buffer<ffi::U32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Ret<ffi::Buffer<ffi::S32>>()
                                  .Ret<ffi::Buffer<ffi::S32>>()
                                  .Attr<int32_t>("k")
                                  .Attr<int32_t>("exclude_self"));

// ------------------------------------------------------------------------- Python module

static PyObject* capsules(PyObject*, PyObject*) {
  return Py_BuildValue(
      "{s:N,s:N}", "hamgeo_pairwise",
      PyCapsule_New(reinterpret_cast<void*>(&HamgeoPairwise), nullptr, nullptr), "hamgeo_knn",
      PyCapsule_New(reinterpret_cast<void*>(&HamgeoKnn), nullptr, nullptr));
}

static PyObject* cpu_features(PyObject*, PyObject*) {
#ifdef HAMGEO_X86
  return Py_BuildValue("{s:O,s:O}", "avx2", __builtin_cpu_supports("avx2") ? Py_True : Py_False,
                       "popcnt", __builtin_cpu_supports("popcnt") ? Py_True : Py_False);
#else
  return Py_BuildValue("{s:O,s:O}", "avx2", Py_False, "popcnt", Py_False);
#endif
}

static PyObject* num_threads(PyObject*, PyObject*) { return PyLong_FromLong(max_threads()); }

static PyMethodDef kMethods[] = {
    {"capsules", capsules, METH_NOARGS, "FFI handler capsules by target name."},
    {"cpu_features", cpu_features, METH_NOARGS, "CPU features the kernels dispatch on."},
    {"num_threads", num_threads, METH_NOARGS, "Threads a large call uses."},
    {nullptr, nullptr, 0, nullptr}};

static PyModuleDef kModule = {PyModuleDef_HEAD_INIT, "_hamming_ffi", nullptr, -1, kMethods};

PyMODINIT_FUNC PyInit__hamming_ffi(void) { return PyModule_Create(&kModule); }
