// Module entry: registers the Mapping class, the error-class hook and each backend compiled for this platform.
// Thread-safety: runs once per env (main thread or worker) on that env's JS thread.
#include <napi.h>

#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Mapping", shm::Mapping::Init(env));
  shm::Export(env, exports, "setErrorClass", [](const Napi::CallbackInfo& info) -> Napi::Value {
    shm::SetErrorClass(info);
    return info.Env().Undefined();
  });
  Napi::Object features = Napi::Object::New(env);
#if defined(_WIN32)
  shm::InitProcess(env, exports);
  shm::InitWait(env, exports);
  shm::InitWin32Mapping(env, exports);
  features.Set("platform", "win32");
  features.Set("win32", true);
#else
  shm::InitFdOps(env, exports);
  shm::InitProcess(env, exports);
#if defined(__linux__)
  // macOS has no memfd: core makes its anonymous areas from unlinked shm_open objects itself (region.ts).
  shm::InitMemfd(env, exports);
#endif
  shm::InitWait(env, exports);
  shm::InitSysvShm(env, exports);
  shm::InitSysvSem(env, exports);
  features.Set("posix", true);
  features.Set("sysv", true);
#if defined(__linux__)
  features.Set("platform", "linux");
  features.Set("memfd", true);
  features.Set("futex", true);
#elif defined(__APPLE__)
  features.Set("platform", "darwin");
  features.Set("ulock", true);
#endif
#endif
  exports.Set("features", features);
  return exports;
}

}  // namespace

NODE_API_MODULE(shm_native, Init)
