// XLA FFI handlers of hamgeo's native CPU Hamming kernels:
//
//   hamgeo_pairwise(x u32[..., N, W], y u32[..., M, W]) -> {s32|u16|u8}[..., N, M]
//       attr truncate (0 = none); the output type is the result buffer's
//   hamgeo_knn(q u32[..., N, W], base u32[..., M, W], offset s32[...])
//       -> (s32[..., N, k] distances, s32[..., N, k] indices)      attrs k, exclude_self
//
// Each call runs the instruction-set path in use (isa.cc) on the pool of pool.cc. k-NN keeps
// a running sorted top-k per query (strict "<" on insertion: base indices arrive in ascending
// order, so ties keep the smaller index).
#include <climits>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "common.h"
#include "kernels_avx2.h"
#include "kernels_avx512.h"
#include "kernels_portable.h"

namespace hamgeo {
namespace {

template <class Sink>
void run(const Problem& p, const Pool& pool, const Sink& sink) {
  const double ops = static_cast<double>(p.n) * p.m * p.w * 32;
  const int threads = threads_for(ops, pool.workers());
  const int isa = current_isa();
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
#define HAMGEO_POOL_CTX .Ctx<xla::ffi::ThreadPool>()
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
}  // namespace hamgeo

XLA_FFI_DEFINE_HANDLER_SYMBOL(HamgeoPairwise, hamgeo::Pairwise,
                              xla::ffi::Ffi::Bind() HAMGEO_POOL_CTX
                                  .Arg<xla::ffi::Buffer<xla::ffi::U32>>()
                                  .Arg<xla::ffi::Buffer<xla::ffi::U32>>()
                                  .Ret<xla::ffi::AnyBuffer>()
                                  .Attr<int32_t>("truncate"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(HamgeoKnn, hamgeo::Knn,
                              xla::ffi::Ffi::Bind() HAMGEO_POOL_CTX
                                  .Arg<xla::ffi::Buffer<xla::ffi::U32>>()
                                  .Arg<xla::ffi::Buffer<xla::ffi::U32>>()
                                  .Arg<xla::ffi::Buffer<xla::ffi::S32>>()
                                  .Ret<xla::ffi::Buffer<xla::ffi::S32>>()
                                  .Ret<xla::ffi::Buffer<xla::ffi::S32>>()
                                  .Attr<int32_t>("k")
                                  .Attr<int32_t>("exclude_self"));
