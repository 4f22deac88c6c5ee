// Turns failed syscalls into the JS error class registered by src/binding.ts (ShmSystemError).
// Thread-safety: call only on the JS thread; worker threads record errno and throw after returning.
#pragma once
#include <napi.h>

#include <string>

namespace shm {

// Registers the constructor `new Ctor(message, errno, syscall, target)` used for every system error.
void SetErrorClass(const Napi::CallbackInfo& info);
// Builds the error object; falls back to a plain Error carrying the same fields if no class was registered.
Napi::Error SysError(Napi::Env env, int err, const char* syscall, const std::string& target);
// Throws (as a C++ exception that node-addon-api converts to a JS exception).
[[noreturn]] void ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& target);
// Same, for platforms whose error numbers are not errno values (Win32): `code` is the error's name
// (ERROR_FILE_NOT_FOUND) and `detail` its text; passed to the class as a fifth constructor argument.
Napi::Error SysErrorCode(Napi::Env env, int err, const std::string& code, const std::string& detail,
                         const char* syscall, const std::string& target);
// Argument checking for already-validated positional primitives: a mismatch is a bug in the TS layer.
[[noreturn]] void ThrowType(Napi::Env env, const char* what);
int32_t ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name);
int64_t ArgInt64(const Napi::CallbackInfo& info, size_t i, const char* name);
double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name);

}  // namespace shm
