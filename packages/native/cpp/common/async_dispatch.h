// The event-loop side of every async wait: one per Node environment (main thread or worker). A wait gets an id
// and a pending promise here; whichever thread finishes it posts (id, result) and the promise settles on the JS
// thread through one napi threadsafe function, referenced only while a wait is pending (docs/architecture/waiter.md).
// Thread-safety: Begin/Resolve and the settle hooks run on the JS thread; Post may be called from any thread.
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace shm {

// Result codes of a word wait, shared with src/binding-types.ts (WaitResult); kWaitClosed ends a wait whose
// mapping (or event) was closed meanwhile and becomes ERR_SHM_CLOSED in TypeScript. A negative result is -errno.
constexpr int kWaitWoken = 0, kWaitTimedOut = 1, kWaitNotEqual = 2, kWaitInterrupted = 3, kWaitClosed = 4;

struct Completion {
  uint64_t id;
  int result;
};

class Dispatcher {
 public:
  // This env's dispatcher, created on first use (JS thread). The cleanup hook it registers runs before the
  // threadsafe function's own, so nothing posts to a deleted function.
  static std::shared_ptr<Dispatcher> For(Napi::Env env);

  // JS thread: a pending promise, named by *id for Post. `on_settle` runs on the JS thread after it settles;
  // `syscall` names a negative (errno) result's rejection.
  Napi::Promise Begin(uint64_t* id, const char* syscall, std::function<void()> on_settle = nullptr);
  // Any thread: settles the ids. Unknown ids (already settled) are ignored, so a cancel and a late result may
  // race safely: the first posted wins. Dropped once the env is being torn down.
  void Post(const Completion* c, size_t n);
  void Post(uint64_t id, int result) {
    Completion c{id, result};
    Post(&c, 1);
  }
  // JS thread: waits not yet settled.
  size_t pending() const { return pending_.size(); }

  ~Dispatcher();

 private:
  struct Pending {
    napi_deferred deferred;
    const char* syscall;
    std::function<void()> on_settle;
  };
  explicit Dispatcher(napi_env env) : env_(env) {}
  static void CallJs(napi_env env, napi_value, void* ctx, void*);
  static void Cleanup(void* arg);
  void Drain(napi_env env);

  napi_env env_;
  napi_threadsafe_function tsfn_ = nullptr;
  bool referenced_ = false;                        // JS thread
  uint64_t next_id_ = 1;                           // JS thread
  std::unordered_map<uint64_t, Pending> pending_;  // JS thread
  std::mutex mu_;                                  // guards the three below
  std::vector<Completion> queue_;
  bool signalled_ = false;  // a call into JS is queued and will drain queue_
  bool stopped_ = false;    // the env is being torn down
};

}  // namespace shm
