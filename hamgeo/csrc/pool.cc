// Threads: chunks of rows run on XLA's own intra-op thread pool (the FFI ThreadPool context),
// so the kernels never add threads that compete with XLA's; where the headers lack it (or
// HAMGEO_NATIVE_POOL=own) on a persistent pool sized by sched_getaffinity.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include "common.h"

namespace hamgeo {

namespace {

int thread_cap() {
  // Only a whole positive number counts ("2x" is ignored, as hamgeo._native warns).
  if (const char* env = std::getenv("HAMGEO_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0 && n <= INT_MAX) return static_cast<int>(n);
  }
  return INT_MAX;
}

bool own_pool_forced() {
  const char* mode = std::getenv("HAMGEO_NATIVE_POOL");
  return mode != nullptr && std::strcmp(mode, "own") == 0;
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

}  // namespace

int usable_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

int last_pool() { return g_last_pool.load(); }

int last_threads() { return g_last_threads.load(); }

// Below ~2^24 bit-pair operations per worker a thread costs more than it saves.
int threads_for(double bit_ops, int workers) {
  const int t = static_cast<int>(bit_ops / 16.0e6);
  return std::max(1, std::min(workers, t));
}

int Pool::workers() const {
#ifdef HAMGEO_XLA_POOL
  if (xla != nullptr && !own_pool_forced()) {
    const int64_t t = xla->num_threads();
    if (t > 0) return static_cast<int>(std::min<int64_t>(t, thread_cap()));
  }
#endif
  return std::min(OwnPool::get().size() + 1, thread_cap());
}

void Pool::run(int64_t chunks, int threads, std::function<void(int64_t)> fn) const {
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
  if (xla != nullptr && !own_pool_forced() && xla->num_threads() > 0) {
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

}  // namespace hamgeo
