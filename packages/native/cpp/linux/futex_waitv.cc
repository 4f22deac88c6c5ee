// The Linux WordWaiter: futex_waitv(2) (Linux 5.16+) lets one thread sleep on up to 128 shared futex words at
// once. Each shard thread sleeps on its private control word plus up to 127 waited words; the JS thread bumps the
// control word to make it re-read its list (new waits, cancels, stop). More waits start more shards.
// Thread-safety: a shard's inbox (adds_, cancels_, stop_, count_) is guarded by mu_; active_ is its thread's own.
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <memory>
#include <mutex>
#include <vector>

#include "common/thread_name.h"
#include "common/word_waiter.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449  // the same number on x86_64 and arm64 (asm-generic)
#endif

namespace shm {
namespace {

// struct futex_waitv of <linux/futex.h>, spelled out so older kernel headers build too.
struct WaitvEntry {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
constexpr uint32_t kSizeU32 = 0x02;    // FUTEX2_SIZE_U32
constexpr uint32_t kPrivate = 128;     // FUTEX2_PRIVATE
constexpr size_t kMaxWaits = 127;      // FUTEX_WAITV_MAX (128) minus the control word

long FutexWaitv(WaitvEntry* v, size_t n, const struct timespec* abs) {
  return syscall(SYS_futex_waitv, v, n, 0, abs, CLOCK_MONOTONIC);
}

class Shard {
 public:
  explicit Shard(std::shared_ptr<Dispatcher> d) : d_(std::move(d)) {}

  // Starts the thread; false (errno-style code in *err) if it cannot.
  bool Start(int* err) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  // inherited: signals stay with node's threads
    int rc = pthread_create(&thread_, &attr, Main, this);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_attr_destroy(&attr);
    *err = rc;
    return rc == 0;
  }

  // JS thread. False when this shard already holds kMaxWaits waits.
  bool TryAdd(WordWaitRequest& r) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (count_ >= kMaxWaits) return false;
      ++count_;
      adds_.push_back(std::move(r));
    }
    Poke();
    return true;
  }

  void Cancel(const MapState* st) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (count_ == 0) return;
      cancels_.push_back(st);
    }
    Poke();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    Poke();
    pthread_join(thread_, nullptr);
  }

 private:
  struct Active {
    WordWaitRequest r;
    bool armed;  // has slept in the kernel at least once
  };

  void Poke() {
    __atomic_add_fetch(&ctl_, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &ctl_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

  static void* Main(void* p) {
    NameThisThread("shm-waitv");
    static_cast<Shard*>(p)->Run();
    return nullptr;
  }

  // Settles active_[i] with `result` (ends the wait): posted in one batch by Flush.
  void End(size_t i, int result) {
    done_.push_back({active_[i].r.id, result});
    ended_.push_back(std::move(active_[i].r.st));
    active_[i] = std::move(active_.back());
    active_.pop_back();
  }

  void Flush() {
    d_->Post(done_.data(), done_.size());
    for (auto& st : ended_) st->Leave();
    size_t n = done_.size();
    done_.clear();
    ended_.clear();
    if (n == 0) return;
    std::lock_guard<std::mutex> lk(mu_);
    count_ -= n;
  }

  void Run() {
    std::vector<WaitvEntry> vec;
    for (;;) {
      uint32_t seen = __atomic_load_n(&ctl_, __ATOMIC_SEQ_CST);
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_) break;
        for (auto& r : adds_) active_.push_back({std::move(r), false});
        adds_.clear();
        for (const MapState* st : cancels_) {
          for (size_t i = active_.size(); i-- > 0;)
            if (active_[i].r.st.get() == st) End(i, kWaitClosed);
        }
        cancels_.clear();
      }
      double now = MonotonicMs();
      double next = INFINITY;
      for (size_t i = active_.size(); i-- > 0;) {
        if (active_[i].r.deadline_ms <= now) {
          End(i, kWaitTimedOut);
        } else if (active_[i].r.deadline_ms < next) {
          next = active_[i].r.deadline_ms;
        }
      }
      Flush();

      vec.resize(active_.size() + 1);
      vec[0] = {seen, reinterpret_cast<uint64_t>(&ctl_), kSizeU32 | kPrivate, 0};
      for (size_t i = 0; i < active_.size(); i++)
        vec[i + 1] = {active_[i].r.expected, reinterpret_cast<uint64_t>(active_[i].r.addr), kSizeU32, 0};
      struct timespec abs;
      struct timespec* absp = nullptr;
      if (std::isfinite(next)) {
        double ns = std::ceil(next * 1e6);  // MonotonicMs is CLOCK_MONOTONIC on Linux
        abs.tv_sec = static_cast<time_t>(ns / 1e9);
        abs.tv_nsec = static_cast<long>(ns - static_cast<double>(abs.tv_sec) * 1e9);
        absp = &abs;
      }
      long rc = FutexWaitv(vec.data(), vec.size(), absp);
      int e = rc < 0 ? errno : 0;
      if (rc < 0 && e != EAGAIN && e != ETIMEDOUT && e != EINTR) {
        // Unexpected (EFAULT, EINVAL, ENOMEM): fail every wait rather than spin.
        for (size_t i = active_.size(); i-- > 0;) End(i, -e);
        Flush();
        continue;
      }
      // The kernel reports one woken index even when several were woken at once, so any word that no longer
      // holds its expected value counts as woken too (or NotEqual if it never slept).
      size_t woken = rc > 0 ? static_cast<size_t>(rc) - 1 : SIZE_MAX;
      for (size_t i = active_.size(); i-- > 0;) {
        bool changed = __atomic_load_n(active_[i].r.addr, __ATOMIC_SEQ_CST) != active_[i].r.expected;
        if (i == woken || changed) {
          End(i, (e == EAGAIN && !active_[i].armed) ? kWaitNotEqual : kWaitWoken);
        } else if (e != EAGAIN) {
          active_[i].armed = true;
        }
      }
      Flush();
    }
    // Stopping (env teardown): nobody is left to resolve; let the memory go.
    for (auto& a : active_) a.r.st->Leave();
    active_.clear();
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& r : adds_) r.st->Leave();
    adds_.clear();
  }

  std::shared_ptr<Dispatcher> d_;
  alignas(4) uint32_t ctl_ = 0;  // the private control futex
  pthread_t thread_{};
  std::mutex mu_;
  std::vector<WordWaitRequest> adds_;
  std::vector<const MapState*> cancels_;
  size_t count_ = 0;
  bool stop_ = false;
  // The thread's own.
  std::vector<Active> active_;
  std::vector<Completion> done_;
  std::vector<std::shared_ptr<MapState>> ended_;
};

class WaitvWaiter : public WordWaiter {
 public:
  explicit WaitvWaiter(std::shared_ptr<Dispatcher> d) : d_(std::move(d)) {}
  ~WaitvWaiter() override { Stop(); }

  void Add(WordWaitRequest r) override {
    for (auto& s : shards_)
      if (s->TryAdd(r)) return;
    auto s = std::make_unique<Shard>(d_);
    int err = 0;
    if (!s->Start(&err)) {
      uint64_t id = r.id;
      r.st->Leave();
      d_->Post(id, -err);
      return;
    }
    s->TryAdd(r);
    shards_.push_back(std::move(s));
  }

  void CancelMapping(const MapState* st) override {
    for (auto& s : shards_) s->Cancel(st);
  }

  void Stop() override {
    for (auto& s : shards_) s->Stop();
    shards_.clear();
  }

  const char* backend() const override { return "futex_waitv"; }
  int threads() const override { return static_cast<int>(shards_.size()); }

 private:
  std::shared_ptr<Dispatcher> d_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace

// nullptr when the kernel has no futex_waitv (ENOSYS): the caller falls back to a thread per wait.
std::shared_ptr<WordWaiter> MakeWaitvWaiter(std::shared_ptr<Dispatcher> d) {
  // An empty vector is EINVAL where the call exists, ENOSYS where it does not.
  if (FutexWaitv(nullptr, 0, nullptr) < 0 && errno == ENOSYS) return nullptr;
  return std::make_shared<WaitvWaiter>(std::move(d));
}

}  // namespace shm
