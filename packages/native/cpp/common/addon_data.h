// Per-environment state (main thread and each worker thread load the addon into their own env).
// Thread-safety: each env's data is touched only by that env's JS thread.
#pragma once
#include <napi.h>

#include <memory>

namespace shm {

class Dispatcher;
class WordWaiter;

struct AddonData {
  Napi::FunctionReference error_ctor;
  Napi::FunctionReference mapping_ctor;
  // Async waits of this env (common/async_dispatch.h, common/word_waiter.h); created on first use.
  std::shared_ptr<Dispatcher> dispatcher;
  std::shared_ptr<WordWaiter> word_waiter;
};

// Returns this env's data, creating it on first use.
inline AddonData& Data(Napi::Env env) {
  AddonData* d = env.GetInstanceData<AddonData>();
  if (d == nullptr) {
    d = new AddonData();
    env.SetInstanceData<AddonData>(d);  // deleted by node when the env is torn down
  }
  return *d;
}

}  // namespace shm
