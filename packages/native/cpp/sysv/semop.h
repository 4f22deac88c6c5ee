// SysV semop helpers shared by sem.cc, sem_table.cc and sem_wait.cc: reading (num, op, flg) triples from JS and
// one atomic semop with an optional timeout. Thread-safety: TimedSemop runs on any thread; ReadOps on the JS thread.
#pragma once
#include <napi.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/types.h>

#include <vector>

namespace shm {

// At most this many ops in one table (the kernel's SEMOPM is 500 on Linux, 5 on old macOS).
constexpr size_t kMaxSemOps = 64;

// Flat (num, op, flg) triples from an Int32Array (read in place) or a plain array, at argument `i`.
std::vector<struct sembuf> ReadOps(const Napi::CallbackInfo& info, size_t i, const char* name = "ops");

// Applies all `n` ops atomically: 0, -EAGAIN when IPC_NOWAIT would block or `timeout_ms` (>= 0) ran out, or
// -errno. EINTR is retried with the time that is left; timeout_ms < 0 waits forever.
int TimedSemop(int id, struct sembuf* ops, size_t n, double timeout_ms);

// The ops that take back what `ops` did once it succeeded: each non-zero op negated, with IPC_NOWAIT (it never
// needs to wait) and the same SEM_UNDO flag (so the process's semadj is restored too). Wait-for-zero ops drop out.
std::vector<struct sembuf> InverseOps(const std::vector<struct sembuf>& ops);

}  // namespace shm

namespace shm {
void InitSysvSemTables(Napi::Env env, Napi::Object exports);  // sysv/sem_table.cc, called by InitSysvSem
void InitSysvSemWait(Napi::Env env, Napi::Object exports);    // sysv/sem_wait.cc, called by InitSysvSem
}  // namespace shm
