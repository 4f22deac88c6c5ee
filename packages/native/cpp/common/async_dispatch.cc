// Dispatcher: pending promises of one env and the threadsafe function that settles them on its JS thread.
// Thread-safety: see async_dispatch.h; pending_ is JS-thread only, the queue is guarded by mu_.
#include "common/async_dispatch.h"

#include "common/addon_data.h"
#include "common/errors.h"

namespace shm {

namespace {
// Holds the dispatcher alive until the threadsafe function is finalized: node may still call CallJs with a null
// env for queued items while it tears the function down.
void Finalize(napi_env, void* data, void*) { delete static_cast<std::shared_ptr<Dispatcher>*>(data); }
}  // namespace

std::shared_ptr<Dispatcher> Dispatcher::For(Napi::Env env) {
  AddonData& data = Data(env);
  if (data.dispatcher) return data.dispatcher;
  std::shared_ptr<Dispatcher> d(new Dispatcher(env));
  napi_value name;
  napi_create_string_utf8(env, "shm:async-wait", NAPI_AUTO_LENGTH, &name);
  auto* hold = new std::shared_ptr<Dispatcher>(d);
  napi_status s = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, hold, Finalize, d.get(),
                                                  CallJs, &d->tsfn_);
  if (s != napi_ok) {
    delete hold;
    throw Napi::Error::New(env, "napi_create_threadsafe_function failed");
  }
  napi_unref_threadsafe_function(env, d->tsfn_);  // nothing waits yet: do not keep the loop alive
  // Registered after the function, so it runs before the function's own cleanup (hooks run last-in first-out).
  napi_add_env_cleanup_hook(env, Cleanup, d.get());
  data.dispatcher = d;
  return d;
}

Dispatcher::~Dispatcher() = default;

Napi::Promise Dispatcher::Begin(uint64_t* id, const char* syscall, std::function<void()> on_settle) {
  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env_, &deferred, &promise) != napi_ok) throw Napi::Error::New(env_, "napi_create_promise failed");
  *id = next_id_++;
  pending_.emplace(*id, Pending{deferred, syscall, std::move(on_settle)});
  if (!referenced_) {
    napi_ref_threadsafe_function(env_, tsfn_);  // a pending wait keeps the loop alive
    referenced_ = true;
  }
  return Napi::Promise(env_, promise);
}

void Dispatcher::Post(const Completion* c, size_t n) {
  if (n == 0) return;
  std::lock_guard<std::mutex> lk(mu_);
  if (stopped_) return;
  queue_.insert(queue_.end(), c, c + n);
  if (signalled_) return;
  signalled_ = true;
  // Under mu_, so Cleanup (which sets stopped_ first) cannot interleave. Unlimited queue: never blocks.
  napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
}

void Dispatcher::CallJs(napi_env env, napi_value, void* ctx, void*) {
  if (env == nullptr) return;  // the function is being torn down
  static_cast<Dispatcher*>(ctx)->Drain(env);
}

void Dispatcher::Drain(napi_env env) {
  std::vector<Completion> done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    done.swap(queue_);
    signalled_ = false;
  }
  for (const Completion& c : done) {
    auto it = pending_.find(c.id);
    if (it == pending_.end()) continue;  // settled already (a cancel won the race)
    Pending p = std::move(it->second);
    pending_.erase(it);
    try {
      if (c.result < 0) {
        napi_reject_deferred(env, p.deferred, SysError(Napi::Env(env), -c.result, p.syscall, "").Value());
      } else {
        napi_value v;
        napi_create_int32(env, c.result, &v);
        napi_resolve_deferred(env, p.deferred, v);
      }
      if (p.on_settle) p.on_settle();
    } catch (const Napi::Error& e) {
      // Nothing sensible to do with a failure to settle: the env is probably terminating.
      (void)e;
    }
  }
  if (pending_.empty() && referenced_) {
    napi_unref_threadsafe_function(env, tsfn_);  // idle: let the process exit
    referenced_ = false;
  }
}

void Dispatcher::Cleanup(void* arg) {
  auto* d = static_cast<Dispatcher*>(arg);
  {
    std::lock_guard<std::mutex> lk(d->mu_);
    d->stopped_ = true;
    d->queue_.clear();
  }
  // The promises die with the env; their settle hooks (Win32 unregistration) still run here, on the JS thread.
  for (auto& [id, p] : d->pending_) {
    if (p.on_settle) p.on_settle();
  }
  d->pending_.clear();
}

}  // namespace shm
