// Shared (cross-process) futex wait and wake on a 32-bit word of a Mapping; async waits go to futex_waitv.cc's
// waiter threads, or (no futex_waitv, or SHM_WAITER=thread) to a thread per wait.
// Thread-safety: sync calls on the JS thread; WaitOnce/WakeAll also on waiter threads.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/word_wait.h"
#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"

namespace shm {

std::shared_ptr<WordWaiter> MakeWaitvWaiter(std::shared_ptr<Dispatcher> d);  // futex_waitv.cc

namespace {

constexpr int kWoken = kWaitWoken, kTimedOut = kWaitTimedOut, kNotEqual = kWaitNotEqual,
              kInterrupted = kWaitInterrupted;

// One wait. timeout_ms < 0 waits forever. Returns a result code or -errno for unexpected failures.
int WaitOnce(uint32_t* addr, uint32_t expected, double timeout_ms) {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (timeout_ms >= 0) {
    int64_t ns = static_cast<int64_t>(timeout_ms * 1e6);
    ts.tv_sec = static_cast<time_t>(ns / 1000000000);
    ts.tv_nsec = static_cast<long>(ns % 1000000000);
    tsp = &ts;
  }
  long rc = syscall(SYS_futex, addr, FUTEX_WAIT, expected, tsp, nullptr, 0);
  if (rc == 0) return kWoken;
  if (errno == ETIMEDOUT) return kTimedOut;
  if (errno == EAGAIN) return kNotEqual;
  if (errno == EINTR) return kInterrupted;
  return -errno;
}

// futexWait(mapping, offset, expected, timeoutMs) -> WaitResult
Napi::Value FutexWait(const Napi::CallbackInfo& info) { return WordWaitSync(info, WaitOnce, "futex(FUTEX_WAIT)"); }

// futexWake(mapping, offset, count) -> number of waiters woken
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapping* m = Mapping::From(env, info[0]);
  uint32_t* addr = m->Word(env, ArgInt64(info, 1, "offset"));
  int32_t count = ArgInt32(info, 2, "count");
  if (count <= 0) count = INT_MAX;
  long rc = syscall(SYS_futex, addr, FUTEX_WAKE, count, nullptr, nullptr, 0);
  if (rc < 0) ThrowSys(env, errno, "futex(FUTEX_WAKE)", "");
  return Napi::Number::New(env, static_cast<double>(rc));
}

void WakeAll(uint32_t* addr) { syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0); }

// futex_waitv where the kernel has it (5.16+), unless SHM_WAITER=thread asks for the fallback (tests use it).
std::shared_ptr<WordWaiter> MakeWaiter(std::shared_ptr<Dispatcher> d) {
  const char* want = std::getenv("SHM_WAITER");
  if (want == nullptr || std::strcmp(want, "thread") != 0) {
    if (auto w = MakeWaitvWaiter(d)) return w;
  }
  return MakeThreadWaiter(std::move(d), WaitOnce, WakeAll);
}

// futexWaitAsync(mapping, offset, expected, timeoutMs) -> Promise<WaitResult | 4 (closed)>, off the libuv pool.
Napi::Value FutexWaitAsync(const Napi::CallbackInfo& info) { return WordWaitAsync(info, MakeWaiter, "futex_waitv"); }

Napi::Value AsyncWaitStats(const Napi::CallbackInfo& info) { return WordWaitStats(info, MakeWaiter); }

}  // namespace

void InitWait(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "futexWait", FutexWait);
  Export(env, exports, "futexWake", FutexWake);
  Export(env, exports, "futexWaitAsync", FutexWaitAsync);
  Export(env, exports, "asyncWaitStats", AsyncWaitStats);
  (void)kInterrupted;
}

}  // namespace shm
