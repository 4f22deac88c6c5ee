// Process and thread identity for lock ownership and crash recovery: pid, tid, pid namespace, liveness.
// Thread-safety: stateless syscall wrappers; gettid() answers for the calling (JS) thread.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#if defined(__linux__)
#include <sys/syscall.h>
#elif defined(__APPLE__)
#include <libproc.h>
#include <pthread.h>
#include <sys/proc_info.h>
#endif

#include "common/errors.h"
#include "common/exports.h"

namespace shm {
namespace {

Napi::Value GetPid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), getpid()); }

// A system-wide thread id: the owner identity written into lock words.
Napi::Value GetTid(const Napi::CallbackInfo& info) {
#if defined(__linux__)
  return Napi::Number::New(info.Env(), static_cast<double>(syscall(SYS_gettid)));
#else
  uint64_t tid = 0;
  pthread_threadid_np(nullptr, &tid);
  return Napi::Number::New(info.Env(), static_cast<double>(tid & 0x3fffffff));
#endif
}

// Identifies the pid namespace so that tids are compared only where they mean the same task.
Napi::Value PidNamespace(const Napi::CallbackInfo& info) {
#if defined(__linux__)
  struct stat st;
  if (stat("/proc/self/ns/pid", &st) != 0) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), static_cast<double>(st.st_ino));
#else
  return Napi::Number::New(info.Env(), 0);
#endif
}

// procInfo(id) -> { state, startTime } or null when no such task exists. `state` is the one-letter state of
// /proc/<id>/stat ('Z' zombie, 'X' dead, ...); startTime is in clock ticks since boot and guards against id reuse.
Napi::Value ProcInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id = ArgInt32(info, 0, "id");
  if (id <= 0) return env.Null();
#if defined(__linux__)
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", id);
  FILE* f = fopen(path, "re");
  if (f == nullptr) {
    if (errno == ENOENT || errno == ESRCH) return env.Null();
    // Cannot read /proc (hidepid): fall back to kill(0), which cannot see zombies.
    if (kill(id, 0) == 0 || errno == EPERM) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("state", "?");
      o.Set("startTime", Napi::Number::New(env, 0));
      return o;
    }
    return env.Null();
  }
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char* rp = strrchr(buf, ')');  // comm may contain spaces and parentheses
  if (rp == nullptr || rp[1] == '\0') return env.Null();
  char state = rp[2];
  // Fields after ')' start at field 3 (state); starttime is field 22.
  const char* p = rp + 2;
  int field = 3;
  while (*p != '\0' && field < 22) {
    if (*p == ' ') ++field;
    ++p;
  }
  double start = field == 22 ? strtod(p, nullptr) : 0;
  Napi::Object o = Napi::Object::New(env);
  o.Set("state", std::string(1, state));
  o.Set("startTime", Napi::Number::New(env, start));
  return o;
#else
  if (kill(id, 0) != 0 && errno == ESRCH) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  struct proc_bsdinfo bi;
  int r = proc_pidinfo(id, PROC_PIDTBSDINFO, 0, &bi, sizeof bi);
  o.Set("state", r == sizeof bi && bi.pbi_status == SZOMB ? "Z" : "R");
  o.Set("startTime", Napi::Number::New(env, r == sizeof bi ? static_cast<double>(bi.pbi_start_tvsec) : 0));
  return o;
#endif
}

// kill(pid, signal): used by tests and tools; returns false for ESRCH.
Napi::Value Kill(const Napi::CallbackInfo& info) {
  int32_t pid = ArgInt32(info, 0, "pid");
  int32_t sig = ArgInt32(info, 1, "signal");
  if (kill(pid, sig) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == ESRCH) return Napi::Boolean::New(info.Env(), false);
  ThrowSys(info.Env(), errno, "kill", "pid " + std::to_string(pid));
}

Napi::Value GetUid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), geteuid()); }

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
