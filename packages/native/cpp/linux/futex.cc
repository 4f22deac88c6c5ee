// Shared (cross-process) futex wait and wake on a 32-bit word of a Mapping.
// Thread-safety: waits may run on pool threads; the MapState is pinned with Enter()/Leave() meanwhile.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#include "common/word_wait.h"
#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"

namespace shm {
namespace {

// Result codes shared with src/binding-types.ts (WaitResult).
constexpr int kWoken = 0, kTimedOut = 1, kNotEqual = 2, kInterrupted = 3;

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

// futexWaitAsync(mapping, offset, expected, timeoutMs) -> Promise<WaitResult>, waiting on a pool thread.
Napi::Value FutexWaitAsync(const Napi::CallbackInfo& info) { return WordWaitAsync(info, WaitOnce, "futex(FUTEX_WAIT)"); }

}  // namespace

void InitWait(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "futexWait", FutexWait);
  Export(env, exports, "futexWake", FutexWake);
  Export(env, exports, "futexWaitAsync", FutexWaitAsync);
  (void)kInterrupted;
}

}  // namespace shm
