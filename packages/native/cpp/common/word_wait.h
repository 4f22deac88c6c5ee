// The JS entry points of a word wait (sync and on the libuv pool), shared by linux/futex.cc and darwin/ulock.cc:
// each platform supplies only its WaitOnce(addr, expected, timeout_ms) -> WaitResult code or -errno.
// Thread-safety: the async variant pins the MapState with Enter()/Leave() while the pool thread waits.
#pragma once
#include <napi.h>

#include <cerrno>
#include <memory>

#include "common/async_wait.h"
#include "common/errors.h"
#include "common/mapping.h"

namespace shm {

using WaitOnceFn = int (*)(uint32_t* addr, uint32_t expected, double timeout_ms);

// wait(mapping, offset, expected, timeoutMs) -> WaitResult
inline Napi::Value WordWaitSync(const Napi::CallbackInfo& info, WaitOnceFn wait, const char* syscall) {
  Napi::Env env = info.Env();
  Mapping* m = Mapping::From(env, info[0]);
  uint32_t* addr = m->Word(env, ArgInt64(info, 1, "offset"));
  int r = wait(addr, static_cast<uint32_t>(ArgInt32(info, 2, "expected")), ArgNumber(info, 3, "timeoutMs"));
  if (r < 0) ThrowSys(env, -r, syscall, "");
  return Napi::Number::New(env, r);
}

// waitAsync(mapping, offset, expected, timeoutMs) -> Promise<WaitResult>, waiting on a pool thread.
inline Napi::Value WordWaitAsync(const Napi::CallbackInfo& info, WaitOnceFn wait, const char* syscall) {
  Napi::Env env = info.Env();
  Mapping* m = Mapping::From(env, info[0]);
  uint32_t* addr = m->Word(env, ArgInt64(info, 1, "offset"));
  uint32_t expected = static_cast<uint32_t>(ArgInt32(info, 2, "expected"));
  double timeout = ArgNumber(info, 3, "timeoutMs");
  std::shared_ptr<MapState> st = m->state();
  auto* w = new PromiseWorker(
      env,
      [st, addr, expected, timeout, wait](int* err) -> double {
        if (!st->Enter()) {
          *err = EBADF;
          return 0;
        }
        int r = wait(addr, expected, timeout);
        st->Leave();
        if (r < 0) {
          *err = -r;
          return 0;
        }
        return r;
      },
      syscall, "");
  w->Queue();
  return w->Promise();
}

}  // namespace shm
