// The JS entry points of a word wait, shared by linux/futex.cc and darwin/ulock.cc: the sync wait on the calling
// thread, and the async wait handed to this env's WordWaiter (never the libuv pool). Each platform supplies its
// WaitOnce(addr, expected, timeout_ms) -> WaitResult code or -errno, and the factory of its waiter.
// Thread-safety: JS thread; the async variant pins the MapState with Enter() until the waiter Leave()s it.
#pragma once
#include <napi.h>

#include <cerrno>
#include <cmath>
#include <memory>

#include "common/addon_data.h"
#include "common/async_dispatch.h"
#include "common/errors.h"
#include "common/mapping.h"
#include "common/word_waiter.h"

namespace shm {

// wait(mapping, offset, expected, timeoutMs) -> WaitResult
inline Napi::Value WordWaitSync(const Napi::CallbackInfo& info, WaitOnceFn wait, const char* syscall) {
  Napi::Env env = info.Env();
  Mapping* m = Mapping::From(env, info[0]);
  uint32_t* addr = m->Word(env, ArgInt64(info, 1, "offset"));
  int r = wait(addr, static_cast<uint32_t>(ArgInt32(info, 2, "expected")), ArgNumber(info, 3, "timeoutMs"));
  if (r < 0) ThrowSys(env, -r, syscall, "");
  return Napi::Number::New(env, r);
}

// waitAsync(mapping, offset, expected, timeoutMs) -> Promise<WaitResult | kWaitClosed>. A word that differs, or a
// zero timeout, settles at once; otherwise the env's waiter thread sleeps on it.
inline Napi::Value WordWaitAsync(const Napi::CallbackInfo& info, WaiterFactory make, const char* syscall) {
  Napi::Env env = info.Env();
  Mapping* m = Mapping::From(env, info[0]);
  uint32_t* addr = m->Word(env, ArgInt64(info, 1, "offset"));
  uint32_t expected = static_cast<uint32_t>(ArgInt32(info, 2, "expected"));
  double timeout = ArgNumber(info, 3, "timeoutMs");
  int now = -1;
  if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) != expected) {
    now = kWaitNotEqual;
  } else if (timeout == 0) {
    now = kWaitTimedOut;
  }
  if (now >= 0) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(Napi::Number::New(env, now));
    return d.Promise();
  }
  WordWaiter& waiter = WaiterFor(env, make);
  std::shared_ptr<MapState> st = m->state();
  if (!st->Enter()) ThrowSys(env, EBADF, syscall, "mapping is closed");
  uint64_t id;
  Napi::Promise p = Dispatcher::For(env)->Begin(&id, syscall);
  double deadline = timeout < 0 ? INFINITY : MonotonicMs() + timeout;
  waiter.Add({id, addr, expected, deadline, std::move(st)});
  return p;
}

// asyncWaitStats() -> { backend, threads, pending } of this env (tests and diagnostics).
inline Napi::Value WordWaitStats(const Napi::CallbackInfo& info, WaiterFactory make) {
  Napi::Env env = info.Env();
  WordWaiter& w = WaiterFor(env, make);
  Napi::Object o = Napi::Object::New(env);
  o.Set("backend", w.backend());
  o.Set("threads", w.threads());
  o.Set("pending", static_cast<double>(Dispatcher::For(env)->pending()));
  return o;
}

}  // namespace shm
