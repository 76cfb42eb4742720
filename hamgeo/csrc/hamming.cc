// Native CPU Hamming kernels for hamgeo, called from JAX through the XLA FFI.
//
//   hamgeo_pairwise(x u32[..., N, W], y u32[..., M, W]) -> {s32|u16|u8}[..., N, M]
//       attr truncate (0 = none); the output type is the result buffer's
//   hamgeo_knn(q u32[..., N, W], base u32[..., M, W], offset s32[...])
//       -> (s32[..., N, k] distances, s32[..., N, k] indices)      attrs k, exclude_self
//
// Three instruction-set paths, chosen at run time (the highest the CPU has, or a lower one
// forced with HAMGEO_NATIVE_ISA / set_isa()):
//   * avx512: AVX-512 VPOPCNTDQ. The base codes are transposed into blocks of 16 rows
//     (word t of 16 codes in one 512-bit vector); a query word is broadcast, XORed and
//     counted against 16 base codes at once, so 16 distances build up in the 16 lanes of a
//     register with no horizontal sum. Tiles of 4 queries x 32 base codes (the fastest of 2x64, 4x32,
//     4x64, 6x32 and 8x32 measured on an AMD EPYC with AVX-512).
//   * avx2: codes split into nibble bytes; XOR + VPSHUFB table lookup counts 32 nibbles per
//     instruction in a 4 x 2 tile (codes over 256 bits), 64-bit POPCNT below.
//   * portable: 64-bit XOR + popcount in plain C++ (no instruction-set assumption).
// Work is split into chunks of rows that run on XLA's own intra-op thread pool (the FFI
// ThreadPool context), so the kernel never adds threads that compete with XLA's; where the
// headers lack it (or HAMGEO_NATIVE_POOL=own) a persistent pool sized by sched_getaffinity.
// k-NN keeps a running sorted top-k per query (strict "<" on insertion: base indices arrive
// in ascending order, so ties keep the smaller index).
#include <Python.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#include <sys/mman.h>
#endif

#include "xla/ffi/api/ffi.h"

#if !defined(HAMGEO_NO_XLA_POOL)
#define HAMGEO_XLA_POOL 1
#endif

#if defined(__x86_64__) || defined(_M_X64)
#define HAMGEO_X86 1
#endif

namespace ffi = xla::ffi;

namespace {

// ------------------------------------------------------------------------------ instruction sets

enum Isa : int { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };
const char* const kIsaNames[] = {"portable", "avx2", "avx512"};

Isa detect_isa() {
#ifdef HAMGEO_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq"))
    return kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) return kAvx2;
#endif
  return kPortable;
}

int isa_from_name(const char* name) {
  if (name == nullptr || *name == '\0') return -1;
  for (int i = 0; i < 3; ++i)
    if (std::strcmp(name, kIsaNames[i]) == 0) return i;
  return -2;
}

const Isa kBestIsa = detect_isa();

// The path in use: the best the CPU has, lowered by HAMGEO_NATIVE_ISA or set_isa().
std::atomic<int> g_isa{[] {
  int forced = isa_from_name(std::getenv("HAMGEO_NATIVE_ISA"));
  return forced >= 0 ? std::min<int>(forced, kBestIsa) : static_cast<int>(kBestIsa);
}()};

// ----------------------------------------------------------------------------------- threads

int usable_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

int thread_cap() {
  if (const char* env = std::getenv("HAMGEO_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return INT_MAX;
}

// A persistent pool of usable_cpus() - 1 threads (the caller is the last worker), used only
// where XLA's pool is not reachable. Leaked on purpose: its threads outlive static destructors.
class OwnPool {
 public:
  static OwnPool& get() {
    static OwnPool* pool = new OwnPool(usable_cpus() - 1);
    return *pool;
  }
  int size() const { return static_cast<int>(threads_.size()); }
  void schedule(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  explicit OwnPool(int n) {
    for (int t = 0; t < n; ++t) threads_.emplace_back([this] { loop(); });
    for (auto& th : threads_) th.detach();
  }
  void loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }
  std::vector<std::thread> threads_;
  std::deque<std::function<void()>> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
};

// Chunks [0, total) claimed from an atomic counter by the caller and by pool tasks. The caller
// works too and then waits only for chunks already claimed, so a task that never starts (a
// busy pool, a pool of one) cannot block it; a late task finds nothing left and returns
// without touching `fn` (which refers to the caller's stack).
struct Job {
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  int64_t total = 0;
  std::function<void(int64_t)> fn;
  std::mutex mu;
  std::condition_variable cv;

  void work() {
    for (;;) {
      const int64_t c = next.fetch_add(1);
      if (c >= total) return;
      fn(c);
      if (done.fetch_add(1) + 1 == total) {
        std::lock_guard<std::mutex> lock(mu);
        cv.notify_all();
      }
    }
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return done.load() == total; });
  }
};

// Which pool the last call used (for `hamgeo info`): 0 none yet, 1 XLA, 2 own, 3 caller only.
std::atomic<int> g_last_pool{0};
std::atomic<int> g_last_threads{0};

struct Pool {
#ifdef HAMGEO_XLA_POOL
  ffi::ThreadPool* xla = nullptr;
#endif
  int workers() const {
    int n = 1;
#ifdef HAMGEO_XLA_POOL
    const char* mode = std::getenv("HAMGEO_NATIVE_POOL");
    const bool own = mode != nullptr && std::strcmp(mode, "own") == 0;
    if (xla != nullptr && !own) {
      const int64_t t = xla->num_threads();
      if (t > 0) return static_cast<int>(std::min<int64_t>(t, thread_cap()));
    }
#endif
    n = OwnPool::get().size() + 1;
    return std::min(n, thread_cap());
  }

  // Run fn(c) for c in [0, chunks) on up to `threads` workers (the caller included).
  void run(int64_t chunks, int threads, std::function<void(int64_t)> fn) const {
    threads = static_cast<int>(std::min<int64_t>(threads, chunks));
    g_last_threads.store(std::max(threads, 1));
    if (threads <= 1) {
      g_last_pool.store(3);
      for (int64_t c = 0; c < chunks; ++c) fn(c);
      return;
    }
    auto job = std::make_shared<Job>();
    job->total = chunks;
    job->fn = std::move(fn);
    bool scheduled = false;
#ifdef HAMGEO_XLA_POOL
    const char* mode = std::getenv("HAMGEO_NATIVE_POOL");
    const bool own = mode != nullptr && std::strcmp(mode, "own") == 0;
    if (xla != nullptr && !own && xla->num_threads() > 0) {
      for (int t = 1; t < threads; ++t) xla->Schedule([job] { job->work(); });
      g_last_pool.store(1);
      scheduled = true;
    }
#endif
    if (!scheduled) {
      for (int t = 1; t < threads; ++t) OwnPool::get().schedule([job] { job->work(); });
      g_last_pool.store(2);
    }
    job->work();
    job->wait();
  }
};

// Below ~2^24 bit-pair operations per worker a thread costs more than it saves.
int threads_for(double bit_ops, int workers) {
  const int t = static_cast<int>(bit_ops / 16.0e6);
  return std::max(1, std::min(workers, t));
}

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

// The work of one call on one batch element.
struct Problem {
  const uint32_t* x;
  const uint32_t* y;
  int64_t n, m, w;  // rows of x, rows of y, uint32 words per code
};

// Rows of x split into chunks of `rows` (a multiple of `align`), enough for load balance.
int64_t chunk_rows(int64_t n, int threads, int64_t align) {
  if (threads <= 1) return ((n + align - 1) / align) * align;
  int64_t rows = n / (8 * threads);
  rows = std::max<int64_t>(align, std::min<int64_t>(rows, 256));
  return ((rows + align - 1) / align) * align;
}

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

#ifdef HAMGEO_X86
// --------------------------------------------------------------------------------- AVX2 path
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
#pragma GCC pop_options

// ------------------------------------------------------------------------------- AVX-512 path
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vpopcntdq,popcnt")

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
#pragma GCC pop_options
#endif  // HAMGEO_X86

namespace {

template <class Sink>
void run(const Problem& p, const Pool& pool, const Sink& sink) {
  const double ops = static_cast<double>(p.n) * p.m * p.w * 32;
  const int threads = threads_for(ops, pool.workers());
  const int isa = g_isa.load();
#ifdef HAMGEO_X86
  if (isa == kAvx512) return run_avx512(p, pool, threads, sink);
  // Short codes waste most of a 256-bit nibble vector; 64-bit POPCNT is better there.
  if (isa == kAvx2 && p.w > 8) return run_avx2(p, pool, threads, sink);
#endif
  run_scalar(p, pool, threads, isa >= kAvx2, sink);
}

// Outputs over 32 MiB (glibc's largest mmap threshold) are fresh anonymous memory on every
// call: ask for transparent huge pages so that first-touch page faults (one per 4 KiB
// otherwise) do not dominate the call (4096^2 int32: 40-60 ms of faults -> 10-15 ms of CPU
// on a 2-core EPYC VM). Smaller outputs are recycled from the heap after the first calls;
// advising them only invites compaction stalls (seen at 100 ms on a busy machine).
void advise_huge(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = uintptr_t{1} << 21;
  if (bytes <= (size_t{32} << 20)) return;
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

template <class T>
void pairwise_typed(const Problem& p, const Pool& pool, T* out, int32_t truncate) {
  if (p.w == 0) {
    std::fill(out, out + p.n * p.m, T(0));
    return;
  }
  run(p, pool, StoreSink<T>{out, p.m, truncate});
}

ffi::Error PairwiseImpl(const Pool& pool, ffi::Buffer<ffi::U32> x, ffi::Buffer<ffi::U32> y,
                        ffi::Result<ffi::AnyBuffer> out, int32_t truncate) {
  auto xd = x.dimensions(), yd = y.dimensions();
  if (xd.size() < 2 || yd.size() != xd.size() || xd.back() != yd.back())
    return ffi::Error::InvalidArgument("hamgeo_pairwise: x, y must be [..., n, W] alike");
  const int64_t batch = batch_of(xd), n = xd[xd.size() - 2], m = yd[yd.size() - 2];
  const int64_t w = xd.back();
  if (batch_of(yd) != batch) return ffi::Error::InvalidArgument("hamgeo_pairwise: batch dims");
  const ffi::DataType type = out->element_type();
  if (type != ffi::DataType::S32 && type != ffi::DataType::U16 && type != ffi::DataType::U8)
    return ffi::Error::InvalidArgument("hamgeo_pairwise: output must be s32, u16 or u8");
  const size_t width = type == ffi::DataType::S32 ? 4 : (type == ffi::DataType::U16 ? 2 : 1);
  advise_huge(out->untyped_data(), static_cast<size_t>(batch * n * m) * width);
  for (int64_t b = 0; b < batch; ++b) {
    if (n == 0 || m == 0) continue;
    Problem p{x.typed_data() + b * n * w, y.typed_data() + b * m * w, n, m, w};
    uint8_t* o = static_cast<uint8_t*>(out->untyped_data()) + b * n * m * width;
    if (type == ffi::DataType::S32)
      pairwise_typed(p, pool, reinterpret_cast<int32_t*>(o), truncate);
    else if (type == ffi::DataType::U16)
      pairwise_typed(p, pool, reinterpret_cast<uint16_t*>(o), truncate);
    else
      pairwise_typed(p, pool, o, truncate);
  }
  return ffi::Error::Success();
}

ffi::Error KnnImpl(const Pool& pool, ffi::Buffer<ffi::U32> q, ffi::Buffer<ffi::U32> base,
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
    run(p, pool, KnnSink{d, ix, k, exclude_self != 0, off});
  }
  return ffi::Error::Success();
}

#ifdef HAMGEO_XLA_POOL
ffi::Error Pairwise(ffi::ThreadPool xla, ffi::Buffer<ffi::U32> x, ffi::Buffer<ffi::U32> y,
                    ffi::Result<ffi::AnyBuffer> out, int32_t truncate) {
  Pool pool;
  pool.xla = &xla;
  return PairwiseImpl(pool, x, y, out, truncate);
}

ffi::Error Knn(ffi::ThreadPool xla, ffi::Buffer<ffi::U32> q, ffi::Buffer<ffi::U32> base,
               ffi::Buffer<ffi::S32> offset, ffi::ResultBuffer<ffi::S32> dist,
               ffi::ResultBuffer<ffi::S32> index, int32_t k, int32_t exclude_self) {
  Pool pool;
  pool.xla = &xla;
  return KnnImpl(pool, q, base, offset, dist, index, k, exclude_self);
}
#define HAMGEO_POOL_CTX .Ctx<ffi::ThreadPool>()
#else
ffi::Error Pairwise(ffi::Buffer<ffi::U32> x, ffi::Buffer<ffi::U32> y,
                    ffi::Result<ffi::AnyBuffer> out, int32_t truncate) {
  return PairwiseImpl(Pool{}, x, y, out, truncate);
}

ffi::Error Knn(ffi::Buffer<ffi::U32> q, ffi::Buffer<ffi::U32> base, ffi::Buffer<ffi::S32> offset,
               ffi::ResultBuffer<ffi::S32> dist, ffi::ResultBuffer<ffi::S32> index, int32_t k,
               int32_t exclude_self) {
  return KnnImpl(Pool{}, q, base, offset, dist, index, k, exclude_self);
}
#define HAMGEO_POOL_CTX
#endif

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(HamgeoPairwise, Pairwise,
                              ffi::Ffi::Bind() HAMGEO_POOL_CTX
                                  .Arg<ffi::Buffer<ffi::U32>>()
                                  .Arg<ffi::Buffer<ffi::U32>>()
                                  .Ret<ffi::AnyBuffer>()
                                  .Attr<int32_t>("truncate"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(HamgeoKnn, Knn,
                              ffi::Ffi::Bind() HAMGEO_POOL_CTX
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
  __builtin_cpu_init();
  auto flag = [](bool on) { return on ? Py_True : Py_False; };
  return Py_BuildValue("{s:O,s:O,s:O,s:O}", "popcnt", flag(__builtin_cpu_supports("popcnt")),
                       "avx2", flag(__builtin_cpu_supports("avx2")), "avx512f",
                       flag(__builtin_cpu_supports("avx512f")), "avx512vpopcntdq",
                       flag(__builtin_cpu_supports("avx512vpopcntdq")));
#else
  return Py_BuildValue("{}");
#endif
}

static PyObject* isa(PyObject*, PyObject*) { return PyUnicode_FromString(kIsaNames[g_isa.load()]); }

static PyObject* best_isa(PyObject*, PyObject*) { return PyUnicode_FromString(kIsaNames[kBestIsa]); }

static PyObject* set_isa(PyObject*, PyObject* arg) {
  const char* name = PyUnicode_AsUTF8(arg);
  if (name == nullptr) return nullptr;
  const int want = isa_from_name(name);
  if (want < 0) {
    PyErr_Format(PyExc_ValueError, "unknown instruction-set path %R (portable, avx2, avx512)",
                 arg);
    return nullptr;
  }
  g_isa.store(std::min<int>(want, kBestIsa));
  return PyUnicode_FromString(kIsaNames[g_isa.load()]);
}

static PyObject* pool_info(PyObject*, PyObject*) {
  static const char* const names[] = {"none yet", "xla", "own", "caller"};
#ifdef HAMGEO_XLA_POOL
  const bool xla_pool = true;
#else
  const bool xla_pool = false;
#endif
  return Py_BuildValue("{s:O,s:s,s:i,s:i}", "xla_pool_compiled", xla_pool ? Py_True : Py_False,
                       "last_pool", names[g_last_pool.load()], "last_threads",
                       g_last_threads.load(), "usable_cpus", usable_cpus());
}

#ifndef HAMGEO_BUILD_JAXLIB
#define HAMGEO_BUILD_JAXLIB ""
#endif

static PyObject* build_info(PyObject*, PyObject*) {
#ifdef HAMGEO_XLA_POOL
  PyObject* pool = Py_True;
#else
  PyObject* pool = Py_False;
#endif
  return Py_BuildValue("{s:s,s:i,s:i,s:O}", "jaxlib", HAMGEO_BUILD_JAXLIB, "ffi_api_major",
                       XLA_FFI_API_MAJOR, "ffi_api_minor", XLA_FFI_API_MINOR, "xla_pool", pool);
}

static PyObject* num_threads(PyObject*, PyObject*) {
  return PyLong_FromLong(std::min(usable_cpus(), thread_cap()));
}

static PyMethodDef kMethods[] = {
    {"capsules", capsules, METH_NOARGS, "FFI handler capsules by target name."},
    {"cpu_features", cpu_features, METH_NOARGS, "CPU features the kernels dispatch on."},
    {"isa", isa, METH_NOARGS, "The instruction-set path in use."},
    {"best_isa", best_isa, METH_NOARGS, "The best instruction-set path this CPU runs."},
    {"set_isa", set_isa, METH_O, "Use this path (or the best below it); returns the path used."},
    {"pool_info", pool_info, METH_NOARGS, "Thread pool of the last call, usable CPUs."},
    {"build_info", build_info, METH_NOARGS, "jaxlib headers and FFI API version built against."},
    {"num_threads", num_threads, METH_NOARGS, "Threads a large call may use at most."},
    {nullptr, nullptr, 0, nullptr}};

static PyModuleDef kModule = {PyModuleDef_HEAD_INIT, "_hamming_ffi", nullptr, -1, kMethods};

PyMODINIT_FUNC PyInit__hamming_ffi(void) { return PyModule_Create(&kModule); }
