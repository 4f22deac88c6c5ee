// Named Win32 mutexes (an abandoned mutex is the "owner died" signal) and events (cross-process wake-ups), held in
// a process-wide table of small integer ids. Thread-safety: the table and each object are guarded by mutexes;
// every mutex object has one owner thread that performs all of its waits and releases. Async event waits are
// registered with RegisterWaitForSingleObject (the system's wait threads, not the libuv pool) and settle through
// the env's Dispatcher (common/async_dispatch.h).
//
// Why an owner thread: a Win32 mutex belongs to the thread that waited for it and only that thread may release
// it. Waiting on the JS thread would make sync and async acquires (the latter wait on a libuv pool thread) own the
// mutex from different threads, and would make the mutex recursive for two handles on one JS thread. With one
// owner thread per handle, ownership belongs to the handle: sync and async acquires behave alike, two handles
// exclude each other even on one JS thread, and the kernel marks the mutex abandoned when the process dies (or
// the handle's env is torn down while holding it). Rejected: a pool-thread wait (release from the JS thread fails
// with ERROR_NOT_OWNER) and semaphores (transferable, but never abandoned).
#include "win32/win32_util.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <functional>

#include "common/async_dispatch.h"
#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"
#include "common/word_waiter.h"

namespace shm {
namespace {

// SRWLOCK + CONDITION_VARIABLE rather than std::mutex/condition_variable: MinGW's (winpthreads) condition variables
// sleep on kernel semaphores, which cost a wineserver round trip each under Wine (~300 us per lock+unlock).
class Guard {
 public:
  explicit Guard(SRWLOCK* l) : l_(l) { AcquireSRWLockExclusive(l_); }
  ~Guard() { ReleaseSRWLockExclusive(l_); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  template <typename Pred>
  void Wait(CONDITION_VARIABLE* cv, Pred pred) {
    while (!pred()) SleepConditionVariableSRW(cv, l_, INFINITE, 0);
  }

 private:
  SRWLOCK* l_;
};

// Result codes shared with src/binding-types.ts (Win32WaitResult).
constexpr int kAcquired = 0, kTimedOut = 1, kAbandoned = 2, kBusy = 3, kClosed = 4;
constexpr int kFailed = -1;  // err holds the Win32 error
// Open modes shared with src/binding-types.ts (Win32OpenMode).
constexpr int kOpenOrCreate = 0, kCreateNew = 1, kOpenExisting = 2;

struct AsyncEventWait;

class SyncObject {
 public:
  SyncObject(bool is_mutex, std::string name, HANDLE h, napi_env env)
      : is_mutex_(is_mutex), name_(std::move(name)), h_(h), env_(env) {
    cancel_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  }
  virtual ~SyncObject() {
    CloseHandle(h_);
    if (cancel_ != nullptr) CloseHandle(cancel_);
  }
  bool is_mutex() const { return is_mutex_; }
  const std::string& name() const { return name_; }
  HANDLE handle() const { return h_; }
  napi_env env() const { return env_; }
  std::string Target() const { return name_.empty() ? std::string(is_mutex_ ? "anonymous mutex" : "anonymous event")
                                                    : name_; }
  // Aborts current and future waits; `abandon` (mutex only) lets the owner thread exit still holding it.
  virtual void Close(bool abandon) {
    SetEvent(cancel_);
    EndAsyncWaits();
  }

  // JS thread: an async wait (RegisterWaitForSingleObject) to end with kClosed if this object closes first.
  // False if it is closed already.
  bool TrackAsync(const std::shared_ptr<struct AsyncEventWait>& w);
  void ForgetAsync(const AsyncEventWait* w);
  void EndAsyncWaits();

  // Waits for the object or for Close(); on any thread. Returns kAcquired (signaled), kAbandoned, kTimedOut,
  // kClosed or kFailed with *err set.
  int Wait(DWORD timeout, DWORD* err) {
    HANDLE hs[2] = {h_, cancel_};
    DWORD r = WaitForMultipleObjects(2, hs, FALSE, timeout);
    if (r == WAIT_OBJECT_0) return kAcquired;
    if (r == WAIT_ABANDONED_0) return kAbandoned;
    if (r == WAIT_OBJECT_0 + 1) return kClosed;
    if (r == WAIT_TIMEOUT) return kTimedOut;
    *err = GetLastError();
    return kFailed;
  }

 private:
  bool is_mutex_;
  std::string name_;
  HANDLE h_;
  HANDLE cancel_;
  napi_env env_;
  SRWLOCK async_mu_ = SRWLOCK_INIT;
  bool async_closed_ = false;
  std::vector<std::shared_ptr<AsyncEventWait>> async_;
};

// One async event wait. The wait callback only posts; unregistration (which waits for a running callback) happens
// on the JS thread: after the promise settled, or when the object closes first.
struct AsyncEventWait {
  std::shared_ptr<Dispatcher> d;
  uint64_t id = 0;
  HANDLE wait = nullptr;
  bool unregistered = false;  // JS thread only

  static VOID CALLBACK OnSignal(PVOID ctx, BOOLEAN timed_out) {
    auto* w = static_cast<AsyncEventWait*>(ctx);
    w->d->Post(w->id, timed_out ? 1 : 0);  // TimedOut : Signaled
  }
  void Unregister() {
    if (unregistered || wait == nullptr) return;
    unregistered = true;
    UnregisterWaitEx(wait, INVALID_HANDLE_VALUE);  // returns once a running callback has finished
  }
};

bool SyncObject::TrackAsync(const std::shared_ptr<AsyncEventWait>& w) {
  Guard lk(&async_mu_);
  if (async_closed_) return false;
  async_.push_back(w);
  return true;
}

void SyncObject::ForgetAsync(const AsyncEventWait* w) {
  Guard lk(&async_mu_);
  for (auto it = async_.begin(); it != async_.end(); ++it) {
    if (it->get() == w) {
      async_.erase(it);
      return;
    }
  }
}

void SyncObject::EndAsyncWaits() {
  std::vector<std::shared_ptr<AsyncEventWait>> waits;
  {
    Guard lk(&async_mu_);
    async_closed_ = true;
    waits.swap(async_);
  }
  for (auto& w : waits) {
    w->Unregister();
    w->d->Post(w->id, 4);  // kClosed, unless the callback posted first
  }
}

class MutexObject : public SyncObject {
 public:
  MutexObject(std::string name, HANDLE h, napi_env env) : SyncObject(true, std::move(name), h, env) {
    thread_ = CreateThread(nullptr, 64 * 1024, ThreadMain, this, STACK_SIZE_PARAM_IS_A_RESERVATION, nullptr);
  }
  ~MutexObject() override { Close(true); }
  bool started() const { return thread_ != nullptr; }

  // JS thread: reserve this handle for one acquire. kBusy if it already holds or is acquiring; kClosed.
  int BeginAcquire() {
    Guard lk(&mu_);
    if (closing_) return kClosed;
    if (state_ != kIdle) return kBusy;
    state_ = kAcquiring;
    return kAcquired;
  }
  // Any thread (JS or pool): performs the reserved acquire on the owner thread.
  int RunAcquire(DWORD timeout, DWORD* err) {
    int r = Run(kOpAcquire, timeout, err);
    Guard lk(&mu_);
    state_ = (r == kAcquired || r == kAbandoned) ? kHeld : kIdle;
    return r;
  }
  // Returns 0, kClosed, or kFailed with *err (ERROR_NOT_OWNER when this handle does not hold it).
  int Release(DWORD* err) {
    {
      Guard lk(&mu_);
      if (closing_) return kClosed;
      if (state_ != kHeld) {
        *err = ERROR_NOT_OWNER;
        return kFailed;
      }
      state_ = kReleasing;
    }
    int r = Run(kOpRelease, 0, err);
    Guard lk(&mu_);
    state_ = r == 0 ? kIdle : kHeld;
    return r;
  }
  bool Held() {
    Guard lk(&mu_);
    return state_ == kHeld;
  }

  void Close(bool abandon) override {
    {
      Guard lk(&mu_);
      if (closing_ || thread_ == nullptr) return;
      closing_ = true;
      abandon_ = abandon;
    }
    SyncObject::Close(abandon);  // wakes a pending acquire
    DWORD err = 0;
    Run(kOpExit, 0, &err);
    WaitForSingleObject(thread_, INFINITE);
    CloseHandle(thread_);
    thread_ = nullptr;
  }

 private:
  enum Op { kOpNone, kOpAcquire, kOpRelease, kOpExit };
  enum State { kIdle, kAcquiring, kHeld, kReleasing };

  // Hands one operation to the owner thread and waits for its result. Operations are serialised.
  int Run(Op op, DWORD timeout, DWORD* err) {
    Guard lk(&mu_);
    lk.Wait(&cv_, [&] { return op_ == kOpNone || exited_; });
    if (exited_) return kClosed;  // an async acquire queued before close() ran
    op_ = op;
    timeout_ = timeout;
    done_ = false;
    WakeAllConditionVariable(&cv_);
    lk.Wait(&cv_, [&] { return done_; });
    int r = result_;
    if (r == kFailed) *err = err_;
    op_ = kOpNone;
    done_ = false;
    WakeAllConditionVariable(&cv_);
    return r;
  }

  static DWORD WINAPI ThreadMain(void* p) {
    auto* self = static_cast<MutexObject*>(p);
    bool held = false;
    for (;;) {
      Op op;
      DWORD timeout;
      {
        Guard lk(&self->mu_);
        lk.Wait(&self->cv_, [&] { return self->op_ != kOpNone && !self->done_; });
        op = self->op_;
        timeout = self->timeout_;
      }
      int result = 0;
      DWORD err = 0;
      if (op == kOpAcquire) {
        result = self->Wait(timeout, &err);
        if (result == kAcquired || result == kAbandoned) held = true;
      } else if (op == kOpRelease) {
        if (ReleaseMutex(self->handle())) {
          held = false;
        } else {
          result = kFailed;
          err = GetLastError();
        }
      } else if (op == kOpExit && held && !self->abandon_) {
        ReleaseMutex(self->handle());
      }
      {
        Guard lk(&self->mu_);
        self->result_ = result;
        self->err_ = err;
        self->done_ = true;
        if (op == kOpExit) self->exited_ = true;
      }
      WakeAllConditionVariable(&self->cv_);
      if (op == kOpExit) return 0;  // exiting while still holding it abandons the mutex
    }
  }

  SRWLOCK mu_ = SRWLOCK_INIT;
  CONDITION_VARIABLE cv_ = CONDITION_VARIABLE_INIT;
  HANDLE thread_ = nullptr;
  Op op_ = kOpNone;
  DWORD timeout_ = 0;
  bool done_ = false;
  int result_ = 0;
  DWORD err_ = 0;
  State state_ = kIdle;
  bool closing_ = false;
  bool abandon_ = false;
  bool exited_ = false;
};

// The id table. Ids are never reused within a process, so a stale id can only miss.
SRWLOCK g_mu = SRWLOCK_INIT;
std::unordered_map<int32_t, std::shared_ptr<SyncObject>> g_objects;
int32_t g_next_id = 1;

int32_t Add(std::shared_ptr<SyncObject> o) {
  Guard lk(&g_mu);
  int32_t id = g_next_id++;
  g_objects.emplace(id, std::move(o));
  return id;
}

std::shared_ptr<SyncObject> Find(const Napi::CallbackInfo& info, bool want_mutex, const char* call) {
  int32_t id = ArgInt32(info, 0, "handle");
  {
    Guard lk(&g_mu);
    auto it = g_objects.find(id);
    if (it != g_objects.end() && it->second->is_mutex() == want_mutex) return it->second;
  }
  win32::Throw(info.Env(), ERROR_INVALID_HANDLE, call,
               std::string(want_mutex ? "mutex" : "event") + " handle " + std::to_string(id));
}

MutexObject* AsMutex(const std::shared_ptr<SyncObject>& o) { return static_cast<MutexObject*>(o.get()); }

// Resolves with a result code, or rejects with the Win32 error; `work` runs on a libuv pool thread and touches
// no JS value.
class Win32Worker : public Napi::AsyncWorker {
 public:
  Win32Worker(Napi::Env env, std::function<int(DWORD*)> work, const char* call, std::string target)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), call_(call),
        target_(std::move(target)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override { result_ = work_(&err_); }
  void OnOK() override {
    if (result_ == kFailed) {
      deferred_.Reject(win32::Error(Env(), err_, call_, target_).Value());
    } else {
      deferred_.Resolve(Napi::Number::New(Env(), result_));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<int(DWORD*)> work_;
  const char* call_;
  std::string target_;
  int result_ = 0;
  DWORD err_ = 0;
};

// Shared open logic. create(name_or_null) makes or opens the object; open(name) opens an existing one.
template <typename CreateFn, typename OpenFn>
HANDLE OpenNamed(Napi::Env env, const std::string& name, int mode, const char* create_call, const char* open_call,
                 CreateFn create, OpenFn open) {
  std::wstring w = win32::Widen(name);
  if (mode == kOpenExisting) {
    HANDLE h = open(w.c_str());
    if (h == nullptr) win32::Throw(env, GetLastError(), open_call, name);
    return h;
  }
  HANDLE h = create(w.empty() ? nullptr : w.c_str());
  DWORD err = GetLastError();
  if (h == nullptr) win32::Throw(env, err, create_call, name);
  if (mode == kCreateNew && err == ERROR_ALREADY_EXISTS) {
    CloseHandle(h);
    win32::Throw(env, ERROR_ALREADY_EXISTS, create_call, name);
  }
  return h;
}

int32_t Mode(const Napi::CallbackInfo& info, size_t i) {
  int32_t mode = ArgInt32(info, i, "mode");
  if (mode != kOpenOrCreate && mode != kCreateNew && mode != kOpenExisting) {
    throw Napi::RangeError::New(info.Env(), "Expected an open mode of 0, 1 or 2");
  }
  return mode;
}

// win32MutexOpen(name, mode) -> handle id. name '' = an unnamed mutex (this process only).
Napi::Value MutexOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "name");
  int32_t mode = Mode(info, 1);
  HANDLE h = OpenNamed(
      env, name, mode, "CreateMutexW", "OpenMutexW", [](const wchar_t* n) { return CreateMutexW(nullptr, FALSE, n); },
      [](const wchar_t* n) { return OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, n); });
  auto m = std::make_shared<MutexObject>(name, h, env);
  if (!m->started()) win32::Throw(env, GetLastError(), "CreateThread", name);
  return Napi::Number::New(env, Add(m));
}

// win32MutexAcquire(handle, timeoutMs) -> 0 acquired, 1 timed out, 2 acquired but the previous owner died
// (WAIT_ABANDONED), 3 this handle already holds it or is acquiring it, 4 closed meanwhile.
Napi::Value MutexAcquire(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SyncObject> o = Find(info, true, "WaitForSingleObject");
  DWORD timeout = win32::TimeoutMs(ArgNumber(info, 1, "timeoutMs"));
  int r = AsMutex(o)->BeginAcquire();
  if (r != kAcquired) return Napi::Number::New(env, r);
  DWORD err = 0;
  r = AsMutex(o)->RunAcquire(timeout, &err);
  if (r == kFailed) win32::Throw(env, err, "WaitForSingleObject", o->Target());
  return Napi::Number::New(env, r);
}

// win32MutexAcquireAsync(handle, timeoutMs) -> Promise of the same codes; waits on a pool thread for the owner
// thread, so the event loop keeps running.
Napi::Value MutexAcquireAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SyncObject> o = Find(info, true, "WaitForSingleObject");
  DWORD timeout = win32::TimeoutMs(ArgNumber(info, 1, "timeoutMs"));
  int r = AsMutex(o)->BeginAcquire();
  if (r != kAcquired) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(Napi::Number::New(env, r));
    return d.Promise();
  }
  auto* w = new Win32Worker(
      env, [o, timeout](DWORD* err) { return AsMutex(o)->RunAcquire(timeout, err); }, "WaitForSingleObject",
      o->Target());
  w->Queue();
  return w->Promise();
}

// win32MutexRelease(handle) -> undefined; ERROR_NOT_OWNER if this handle does not hold it.
Napi::Value MutexRelease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SyncObject> o = Find(info, true, "ReleaseMutex");
  DWORD err = 0;
  int r = AsMutex(o)->Release(&err);
  if (r == kFailed) win32::Throw(env, err, "ReleaseMutex", o->Target());
  if (r == kClosed) win32::Throw(env, ERROR_INVALID_HANDLE, "ReleaseMutex", o->Target());
  return env.Undefined();
}

// win32MutexHeld(handle) -> whether this handle holds the mutex.
Napi::Value MutexHeld(const Napi::CallbackInfo& info) {
  std::shared_ptr<SyncObject> o = Find(info, true, "ReleaseMutex");
  return Napi::Boolean::New(info.Env(), AsMutex(o)->Held());
}

// win32EventOpen(name, mode, manualReset, initialState) -> handle id.
Napi::Value EventOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "name");
  int32_t mode = Mode(info, 1);
  BOOL manual = ArgBool(info, 2, "manualReset") ? TRUE : FALSE;
  BOOL initial = ArgBool(info, 3, "initialState") ? TRUE : FALSE;
  HANDLE h = OpenNamed(
      env, name, mode, "CreateEventW", "OpenEventW",
      [manual, initial](const wchar_t* n) { return CreateEventW(nullptr, manual, initial, n); },
      [](const wchar_t* n) { return OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, n); });
  return Napi::Number::New(env, Add(std::make_shared<SyncObject>(false, name, h, env)));
}

Napi::Value EventSet(const Napi::CallbackInfo& info) {
  std::shared_ptr<SyncObject> o = Find(info, false, "SetEvent");
  if (!SetEvent(o->handle())) win32::Throw(info.Env(), GetLastError(), "SetEvent", o->Target());
  return info.Env().Undefined();
}

Napi::Value EventReset(const Napi::CallbackInfo& info) {
  std::shared_ptr<SyncObject> o = Find(info, false, "ResetEvent");
  if (!ResetEvent(o->handle())) win32::Throw(info.Env(), GetLastError(), "ResetEvent", o->Target());
  return info.Env().Undefined();
}

// win32EventWait(handle, timeoutMs) -> 0 signaled, 1 timed out, 4 closed meanwhile.
Napi::Value EventWait(const Napi::CallbackInfo& info) {
  std::shared_ptr<SyncObject> o = Find(info, false, "WaitForSingleObject");
  DWORD timeout = win32::TimeoutMs(ArgNumber(info, 1, "timeoutMs"));
  DWORD err = 0;
  int r = o->Wait(timeout, &err);
  if (r == kFailed) win32::Throw(info.Env(), err, "WaitForSingleObject", o->Target());
  return Napi::Number::New(info.Env(), r);
}

// win32EventWaitAsync(handle, timeoutMs) -> Promise of 0 signaled, 1 timed out, 4 closed meanwhile. The wait is
// registered with the system's wait threads; no libuv pool thread is used.
Napi::Value EventWaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SyncObject> o = Find(info, false, "RegisterWaitForSingleObject");
  DWORD timeout = win32::TimeoutMs(ArgNumber(info, 1, "timeoutMs"));
  auto w = std::make_shared<AsyncEventWait>();
  w->d = Dispatcher::For(env);
  Napi::Promise p = w->d->Begin(&w->id, "RegisterWaitForSingleObject", [w, o] {
    w->Unregister();
    o->ForgetAsync(w.get());
  });
  if (!o->TrackAsync(w)) {
    w->d->Post(w->id, 4);
    return p;
  }
  // The callback may run before this returns; it only posts, and w->wait is read on this thread alone.
  if (!RegisterWaitForSingleObject(&w->wait, o->handle(), AsyncEventWait::OnSignal, w.get(), timeout,
                                   WT_EXECUTEONLYONCE)) {
    DWORD err = GetLastError();
    w->wait = nullptr;
    o->ForgetAsync(w.get());
    w->d->Post(w->id, 4);  // settle the pending promise; the caller gets the error below instead
    win32::Throw(env, err, "RegisterWaitForSingleObject", o->Target());
  }
  return p;
}

// asyncWaitStats() -> { backend, threads, pending }: event waits use the system's wait threads.
Napi::Value AsyncWaitStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  r.Set("backend", "RegisterWaitForSingleObject");
  r.Set("threads", 0);
  r.Set("pending", static_cast<double>(Dispatcher::For(env)->pending()));
  return r;
}

// win32HandleClose(handle) -> false if the id is unknown (already closed). A mutex held through this handle is
// released first; pending waits on it end with code 4.
Napi::Value HandleClose(const Napi::CallbackInfo& info) {
  int32_t id = ArgInt32(info, 0, "handle");
  std::shared_ptr<SyncObject> o;
  {
    Guard lk(&g_mu);
    auto it = g_objects.find(id);
    if (it == g_objects.end()) return Napi::Boolean::New(info.Env(), false);
    o = std::move(it->second);
    g_objects.erase(it);
  }
  o->Close(false);
  return Napi::Boolean::New(info.Env(), true);
}

// win32OpenHandles() -> how many mutex and event ids are open in this process (leak checks in tests).
Napi::Value OpenHandles(const Napi::CallbackInfo& info) {
  Guard lk(&g_mu);
  return Napi::Number::New(info.Env(), static_cast<double>(g_objects.size()));
}

// When an env (the main thread or a worker) goes away, its objects go too. A mutex it still holds is abandoned,
// not released, exactly as if the process had died holding it.
void CleanupEnv(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  std::vector<std::shared_ptr<SyncObject>> mine;
  {
    Guard lk(&g_mu);
    for (auto it = g_objects.begin(); it != g_objects.end();) {
      if (it->second->env() == env) {
        mine.push_back(std::move(it->second));
        it = g_objects.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& o : mine) o->Close(true);
}

}  // namespace

void InitWait(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "win32MutexOpen", MutexOpen);
  Export(env, exports, "win32MutexAcquire", MutexAcquire);
  Export(env, exports, "win32MutexAcquireAsync", MutexAcquireAsync);
  Export(env, exports, "win32MutexRelease", MutexRelease);
  Export(env, exports, "win32MutexHeld", MutexHeld);
  Export(env, exports, "win32EventOpen", EventOpen);
  Export(env, exports, "win32EventSet", EventSet);
  Export(env, exports, "win32EventReset", EventReset);
  Export(env, exports, "win32EventWait", EventWait);
  Export(env, exports, "win32EventWaitAsync", EventWaitAsync);
  Export(env, exports, "asyncWaitStats", AsyncWaitStats);
  Export(env, exports, "win32HandleClose", HandleClose);
  Export(env, exports, "win32OpenHandles", OpenHandles);
  napi_add_env_cleanup_hook(env, CleanupEnv, static_cast<napi_env>(env));
}

}  // namespace shm
