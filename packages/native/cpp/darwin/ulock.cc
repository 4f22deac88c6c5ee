// Cross-process waits on a 32-bit word on macOS: the private but stable __ulock_wait/__ulock_wake syscalls with
// UL_COMPARE_AND_WAIT_SHARED (what libc++'s atomic wait uses). Same contract as linux/futex.cc.
// Async waits: one thread per wait (common/thread_waiter.cc); unproven here (no macOS SDK to build or run on).
// Thread-safety: WaitOnce/WakeAll run on the JS thread and on waiter threads.
#include <cerrno>
#include <climits>
#include <cstdint>

#include "common/word_wait.h"
#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"

extern "C" int __ulock_wait(uint32_t operation, void* addr, uint64_t value, uint32_t timeout_us);
extern "C" int __ulock_wake(uint32_t operation, void* addr, uint64_t wake_value);

namespace shm {
namespace {

constexpr uint32_t kCompareAndWaitShared = 3;  // UL_COMPARE_AND_WAIT_SHARED
constexpr uint32_t kWakeAll = 0x00000100;      // ULF_WAKE_ALL
constexpr uint32_t kNoErrno = 0x01000000;      // ULF_NO_ERRNO
constexpr int kWoken = kWaitWoken, kTimedOut = kWaitTimedOut, kNotEqual = kWaitNotEqual,
              kInterrupted = kWaitInterrupted;

int WaitOnce(uint32_t* addr, uint32_t expected, double timeout_ms) {
  if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) != expected) return kNotEqual;
  uint32_t us = 0;  // 0 = forever
  if (timeout_ms >= 0) {
    double u = timeout_ms * 1000.0;
    us = u < 1 ? 1 : (u > 4294967295.0 ? 4294967295u : static_cast<uint32_t>(u));
  }
  int rc = __ulock_wait(kCompareAndWaitShared | kNoErrno, addr, expected, us);
  if (rc >= 0) return kWoken;
  if (rc == -ETIMEDOUT) return kTimedOut;
  if (rc == -EINTR) return kInterrupted;
  if (rc == -EFAULT) return -EFAULT;
  return kWoken;  // spurious: callers re-check the word
}

Napi::Value FutexWait(const Napi::CallbackInfo& info) { return WordWaitSync(info, WaitOnce, "__ulock_wait"); }

Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapping* m = Mapping::From(env, info[0]);
  uint32_t* addr = m->Word(env, ArgInt64(info, 1, "offset"));
  int32_t count = ArgInt32(info, 2, "count");
  int rc = __ulock_wake(kCompareAndWaitShared | kNoErrno | (count == 1 ? 0 : kWakeAll), addr, 0);
  // The call does not say how many woke: report 1 when someone was waiting, 0 otherwise (-ENOENT).
  return Napi::Number::New(env, rc == 0 ? 1 : 0);
}

void WakeAll(uint32_t* addr) { __ulock_wake(kCompareAndWaitShared | kNoErrno | kWakeAll, addr, 0); }

std::shared_ptr<WordWaiter> MakeWaiter(std::shared_ptr<Dispatcher> d) {
  return MakeThreadWaiter(std::move(d), WaitOnce, WakeAll);
}

Napi::Value FutexWaitAsync(const Napi::CallbackInfo& info) { return WordWaitAsync(info, MakeWaiter, "__ulock_wait"); }

Napi::Value AsyncWaitStats(const Napi::CallbackInfo& info) { return WordWaitStats(info, MakeWaiter); }

}  // namespace

void InitWait(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "futexWait", FutexWait);
  Export(env, exports, "futexWake", FutexWake);
  Export(env, exports, "futexWaitAsync", FutexWaitAsync);
  Export(env, exports, "asyncWaitStats", AsyncWaitStats);
  (void)kWoken;
  (void)kInterrupted;
}

}  // namespace shm
