// The thread side of async word waits (Linux futex, macOS ulock): a WordWaiter sleeps on the waited words off the
// libuv pool and posts each result to the env's Dispatcher. One per env, created on first use; stopped (threads
// joined) by an env cleanup hook. Implementations: linux/futex_waitv.cc (a few threads, each on up to 127 words
// at once) and common/thread_waiter.cc (one thread per wait: the fallback, and macOS).
// Thread-safety: Add/CancelMapping/Stop/Stats run on the JS thread; the threads only post.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>

#include "common/async_dispatch.h"
#include "common/mapping.h"

namespace shm {

// One wait, with its inputs copied out of JS. `st` is pinned (Enter()ed) by the caller; the waiter Leave()s it
// once the wait has ended, which may unmap a mapping closed meanwhile.
struct WordWaitRequest {
  uint64_t id;
  uint32_t* addr;
  uint32_t expected;
  double deadline_ms;  // steady-clock ms (MonotonicMs), or +infinity
  std::shared_ptr<MapState> st;
};

class WordWaiter {
 public:
  virtual ~WordWaiter() = default;
  virtual void Add(WordWaitRequest r) = 0;
  // Ends the waits on `st` with kWaitClosed (its mapping is closing) and lets go of the memory.
  virtual void CancelMapping(const MapState* st) = 0;
  // Ends every wait without a result and joins the threads (env teardown).
  virtual void Stop() = 0;
  // For asyncWaitStats(): the mechanism's name and how many threads it runs now.
  virtual const char* backend() const = 0;
  virtual int threads() const = 0;
};

// Milliseconds on the steady clock (CLOCK_MONOTONIC on Linux).
double MonotonicMs();

// Portable fallback: one short-stacked thread per wait, sleeping on `wait` in slices of at most 1 s so a cancel
// whose wake-up raced the thread's check is noticed; `wake` (a wake of all on the word) interrupts it.
using WaitOnceFn = int (*)(uint32_t* addr, uint32_t expected, double timeout_ms);
using WakeAllFn = void (*)(uint32_t* addr);
std::shared_ptr<WordWaiter> MakeThreadWaiter(std::shared_ptr<Dispatcher> d, WaitOnceFn wait, WakeAllFn wake);

// This env's waiter, made by `make` on first use; registers the cleanup hook that stops it.
using WaiterFactory = std::shared_ptr<WordWaiter> (*)(std::shared_ptr<Dispatcher> d);
WordWaiter& WaiterFor(Napi::Env env, WaiterFactory make);

}  // namespace shm
