// A promise-returning worker for calls that may block (semop; word waits use common/word_waiter.h instead). The
// blocking call runs on the libuv pool with plain C++ inputs copied in; it never touches JS values.
// Thread-safety: Execute() runs on a pool thread, everything else on the JS thread.
#pragma once
#include <napi.h>

#include <functional>
#include <string>

#include "common/errors.h"

namespace shm {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // `work` returns a result number or sets err_ (errno) for a failure that becomes a rejected ShmSystemError.
  PromiseWorker(Napi::Env env, std::function<double(int* err)> work, const char* syscall, std::string target)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        syscall_(syscall), target_(std::move(target)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override { result_ = work_(&err_); }
  void OnOK() override {
    if (err_ != 0) {
      deferred_.Reject(SysError(Env(), err_, syscall_, target_).Value());
    } else {
      deferred_.Resolve(Napi::Number::New(Env(), result_));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<double(int* err)> work_;
  const char* syscall_;
  std::string target_;
  double result_ = 0;
  int err_ = 0;
};

}  // namespace shm
