// Process and thread identity and liveness on Windows (the same exports as posix/process.cc).
// Thread-safety: stateless wrappers; gettid() answers for the calling (JS) thread.
#include "win32/win32_util.h"

#include <string>

#include "common/errors.h"
#include "common/exports.h"

namespace shm {
namespace {

Napi::Value GetPid(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(GetCurrentProcessId()));
}

// Process and thread ids come from one system-wide pool on Windows, so a tid never names a live process.
Napi::Value GetTid(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(GetCurrentThreadId()));
}

// Windows has no pid namespaces visible to a process: every id is comparable.
Napi::Value PidNamespace(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), 0); }

// FILETIME (100 ns since 1601) -> microseconds since 1970: exact in a double for the next few centuries.
double Micros(const FILETIME& ft) {
  ULARGE_INTEGER u;
  u.LowPart = ft.dwLowDateTime;
  u.HighPart = ft.dwHighDateTime;
  return static_cast<double>(u.QuadPart / 10 - 11644473600000000ULL);
}

Napi::Object Info(Napi::Env env, const char* state, double start) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("state", state);
  o.Set("startTime", Napi::Number::New(env, start));
  return o;
}

// procInfo(id) -> { state, startTime } or null. `id` may be a process id or a thread id. state: 'R' running,
// 'Z' exited but still referenced by a handle (dead, like a zombie), '?' exists but cannot be queried.
// startTime: creation time in microseconds since 1970, which guards against id reuse.
Napi::Value ProcInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id = ArgInt32(info, 0, "id");
  if (id <= 0) return env.Null();
  FILETIME created, exited, kernel, user;
  DWORD code = 0;
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(id));
  if (h != nullptr) {
    bool live = GetExitCodeProcess(h, &code) && code == STILL_ACTIVE;
    double start = GetProcessTimes(h, &created, &exited, &kernel, &user) ? Micros(created) : 0;
    CloseHandle(h);
    // STILL_ACTIVE (259) is also a legal exit code; a process that exited with it is read as alive, as
    // Windows' own tools do.
    return Info(env, live ? "R" : "Z", start);
  }
  DWORD err = GetLastError();
  if (err == ERROR_ACCESS_DENIED) return Info(env, "?", 0);
  h = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(id));
  if (h != nullptr) {
    bool live = GetExitCodeThread(h, &code) && code == STILL_ACTIVE;
    double start = GetThreadTimes(h, &created, &exited, &kernel, &user) ? Micros(created) : 0;
    CloseHandle(h);
    return Info(env, live ? "R" : "Z", start);
  }
  if (GetLastError() == ERROR_ACCESS_DENIED) return Info(env, "?", 0);
  return env.Null();  // ERROR_INVALID_PARAMETER: no such process or thread
}

// kill(pid, signal): 0 probes for a live process; SIGINT, SIGQUIT, SIGKILL and SIGTERM terminate it (exit code 1,
// as libuv does). Returns false when there is no such live process.
Napi::Value Kill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t pid = ArgInt32(info, 0, "pid");
  int32_t sig = ArgInt32(info, 1, "signal");
  std::string target = "pid " + std::to_string(pid);
  if (sig != 0 && sig != 2 && sig != 3 && sig != 9 && sig != 15) {
    win32::Throw(env, ERROR_NOT_SUPPORTED, "TerminateProcess", target + " signal " + std::to_string(sig));
  }
  DWORD access = PROCESS_QUERY_LIMITED_INFORMATION | (sig != 0 ? PROCESS_TERMINATE : 0);
  HANDLE h = OpenProcess(access, FALSE, static_cast<DWORD>(pid));
  if (h == nullptr) {
    DWORD err = GetLastError();
    if (err == ERROR_INVALID_PARAMETER) return Napi::Boolean::New(env, false);
    win32::Throw(env, err, "OpenProcess", target);
  }
  DWORD code = 0;
  bool live = GetExitCodeProcess(h, &code) && code == STILL_ACTIVE;
  if (live && sig != 0 && !TerminateProcess(h, 1)) {
    DWORD err = GetLastError();
    CloseHandle(h);
    win32::Throw(env, err, "TerminateProcess", target);
  }
  CloseHandle(h);
  return Napi::Boolean::New(env, live);
}

// No POSIX uids on Windows: 0, so that owner checks written for POSIX compare equal.
Napi::Value GetUid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), 0); }

}  // namespace

void InitProcess(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "getpid", GetPid);
  Export(env, exports, "gettid", GetTid);
  Export(env, exports, "pidNamespace", PidNamespace);
  Export(env, exports, "procInfo", ProcInfo);
  Export(env, exports, "kill", Kill);
  Export(env, exports, "geteuid", GetUid);
}

}  // namespace shm
