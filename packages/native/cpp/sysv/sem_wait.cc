// semopWait: a blocking semop on a thread of its own (never a libuv pool thread), delivered to the JS thread
// through a thread-safe function. Thread-safety: the waiter thread touches only its WaitState (atomics and a
// mutex) and N-API's thread-safe-function calls; every JS value is made on the JS thread.
//
// SysV semaphores cannot be multiplexed (no fd, no epoll), so one thread serves one blocked semop: 64 waiters
// are 64 sleeping threads with small stacks, and the libuv pool stays free for fs, dns, crypto and zlib. The
// thread waits in slices of kSliceMs so a cancelled wait (or a torn-down env) ends within one slice; waking on
// the semaphore itself is immediate. Rejected: one pool thread per wait (four waiters stall the process's fs and
// dns), IPC_NOWAIT polling from the event loop (latency or a busy loop), signalling the thread out of semop with
// pthread_kill (a signal handler in Node's process is not ours to install).
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/exports.h"
#include "common/thread_name.h"
#include "sysv/semop.h"

namespace shm {
namespace {

constexpr double kSliceMs = 200;
constexpr int kCancelled = 1;  // a result no semop returns: stopped before any op was applied
constexpr size_t kStack = 256 * 1024;

struct WaitState {
  int semid = -1;
  std::vector<struct sembuf> ops;
  double timeout_ms = -1;
  std::atomic<bool> cancelled{false};
  // Set by the thread before it queues the call (the queue orders it before CallJs reads it).
  int result = 0;
  // JS thread only: the callback ran.
  bool delivered = false;
  // Guards tsfn against its finalizer: once tsfn_gone, no thread-safe-function API may be called.
  std::mutex mu;
  bool tsfn_gone = false;
  napi_threadsafe_function tsfn = nullptr;
};
using StatePtr = std::shared_ptr<WaitState>;

double NowMs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// A wait that succeeded after its caller gave up: take its adjustments back (they never wait).
void Revert(WaitState& st) {
  std::vector<struct sembuf> inv = InverseOps(st.ops);
  if (!inv.empty()) TimedSemop(st.semid, inv.data(), inv.size(), -1);
}

int Wait(WaitState& st) {
  bool nowait = false;
  for (const struct sembuf& o : st.ops) nowait = nowait || (o.sem_flg & IPC_NOWAIT) != 0;
  if (nowait) return TimedSemop(st.semid, st.ops.data(), st.ops.size(), -1);
  const double deadline = st.timeout_ms >= 0 ? NowMs() + st.timeout_ms : 0;
  for (;;) {
    if (st.cancelled.load()) return kCancelled;
    double slice = kSliceMs;
    if (st.timeout_ms >= 0) {
      double left = deadline - NowMs();
      if (left < 0) left = 0;
      if (left < slice) slice = left;
    }
    int r = TimedSemop(st.semid, st.ops.data(), st.ops.size(), slice);
    if (r != -EAGAIN) return r;
    if (st.timeout_ms >= 0 && NowMs() >= deadline) return -EAGAIN;
  }
}

void* Run(void* arg) {
  NameThisThread("shm-semop");
  StatePtr st = *static_cast<StatePtr*>(arg);
  delete static_cast<StatePtr*>(arg);
  int r = Wait(*st);
  std::lock_guard<std::mutex> g(st->mu);
  st->result = r;
  if (st->tsfn_gone) {  // the env was torn down: nobody will take the result
    if (r == 0) Revert(*st);
    return nullptr;
  }
  if (r != kCancelled && napi_call_threadsafe_function(st->tsfn, nullptr, napi_tsfn_blocking) != napi_ok) {
    if (r == 0) Revert(*st);
    return nullptr;  // closing: the function may already be gone
  }
  napi_release_threadsafe_function(st->tsfn, napi_tsfn_release);
  return nullptr;
}

// On the JS thread (env null: the env is being torn down with the call still queued).
void CallJs(napi_env env, napi_value done, void* context, void*) {
  WaitState& st = **static_cast<StatePtr*>(context);
  if (env == nullptr || st.cancelled.load()) {
    if (st.result == 0) Revert(st);
    return;
  }
  st.delivered = true;
  Napi::Env e(env);
  Napi::Value err = e.Null();
  if (st.result < 0 && st.result != -EAGAIN) err = SysError(e, -st.result, "semop", "semid " + std::to_string(st.semid)).Value();
  Napi::Function(env, done).Call({err, Napi::Number::New(e, st.result < 0 && st.result != -EAGAIN ? 0 : st.result)});
}

// Runs when the thread released the function or the env is torn down; either way no call may follow.
void Finalize(napi_env, void* data, void*) {
  StatePtr* holder = static_cast<StatePtr*>(data);
  {
    std::lock_guard<std::mutex> g((*holder)->mu);
    (*holder)->tsfn_gone = true;
    (*holder)->cancelled.store(true);
  }
  delete holder;
}

// semopWait(semid, ops, timeoutMs, done) -> { cancel(): boolean }. Applies `ops` atomically on a thread of its
// own, waiting up to timeoutMs (< 0: forever), then calls done(null, 0) when applied, done(null, -EAGAIN) when
// IPC_NOWAIT would block or the time ran out, done(ShmSystemError) for any other failure. cancel() stops the
// wait: it returns true if done will not be called (a semop that succeeds meanwhile is taken back), false if done
// already ran. While it waits the process stays alive; a cancelled or finished wait holds nothing.
Napi::Value SemopWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto st = std::make_shared<WaitState>();
  st->semid = ArgInt32(info, 0, "semid");
  st->ops = ReadOps(info, 1);
  st->timeout_ms = ArgNumber(info, 2, "timeoutMs");
  if (info.Length() < 4 || !info[3].IsFunction()) throw Napi::TypeError::New(env, "Expected a function for done");
  auto* holder = new StatePtr(st);
  napi_status s = napi_create_threadsafe_function(env, info[3], nullptr, Napi::String::New(env, "semopWait"), 0, 1,
                                                  holder, Finalize, holder, CallJs, &st->tsfn);
  if (s != napi_ok) {
    delete holder;
    throw Napi::Error::New(env, "Cannot create the thread-safe function of a semop wait");
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStack);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  auto* arg = new StatePtr(st);
  int e = pthread_create(&thread, &attr, Run, arg);
  pthread_attr_destroy(&attr);
  if (e != 0) {
    delete arg;
    napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
    ThrowSys(env, e, "pthread_create", "semid " + std::to_string(st->semid));
  }
  Napi::Object handle = Napi::Object::New(env);
  handle.Set("cancel", Napi::Function::New(
                           env,
                           [st](const Napi::CallbackInfo& ci) -> Napi::Value {
                             if (st->delivered || st->cancelled.load()) return Napi::Boolean::New(ci.Env(), false);
                             st->cancelled.store(true);
                             std::lock_guard<std::mutex> g(st->mu);
                             if (!st->tsfn_gone) napi_unref_threadsafe_function(ci.Env(), st->tsfn);
                             return Napi::Boolean::New(ci.Env(), true);
                           },
                           "cancel"));
  return handle;
}

}  // namespace

void InitSysvSemWait(Napi::Env env, Napi::Object exports) { Export(env, exports, "semopWait", SemopWait); }

}  // namespace shm
