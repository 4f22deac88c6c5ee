// Registration hooks each backend file provides; addon.cc calls the ones compiled for this platform.
// Thread-safety: called once per env on the JS thread at load.
#pragma once
#include <napi.h>

namespace shm {
void InitFdOps(Napi::Env env, Napi::Object exports);    // posix/fd_ops.cc
void InitProcess(Napi::Env env, Napi::Object exports);  // posix/process.cc, win32/process_win.cc
void InitMemfd(Napi::Env env, Napi::Object exports);    // linux/memfd.cc (Linux only)
void InitWait(Napi::Env env, Napi::Object exports);     // linux/futex.cc, darwin/ulock.cc, win32/sync_win.cc
void InitSysvShm(Napi::Env env, Napi::Object exports);  // sysv/shm.cc
void InitSysvSem(Napi::Env env, Napi::Object exports);  // sysv/sem.cc
void InitWin32Mapping(Napi::Env env, Napi::Object exports);   // win32/mapping_win.cc

// Adds fn under `name`.
inline void Export(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback cb) {
  exports.Set(name, Napi::Function::New(env, cb, name));
}
}  // namespace shm
