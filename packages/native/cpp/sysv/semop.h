// SysV semop helpers shared by sem.cc, sem_table.cc, sem_wait.cc and guarded_copy.cc: reading (num, op, flg)
// triples from JS, one atomic semop with an optional timeout, the tables of a SemTables by id.
// Thread-safety: TimedSemop and InverseOps run on any thread; ReadOps and FindSemTables on the JS thread.
#pragma once
#include <napi.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
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

// The op tables of one semaphore set, as a SemTables object holds them (sem_table.cc).
struct SemTablesState {
  int32_t semid = -1;
  std::vector<std::vector<struct sembuf>> tables;
};

// The tables of a live SemTables by its id (JS thread), or null.
std::shared_ptr<SemTablesState> FindSemTables(int32_t id);

}  // namespace shm

namespace shm {
void InitSysvSemTables(Napi::Env env, Napi::Object exports);  // sysv/sem_table.cc, called by InitSysvSem
void InitSysvSemWait(Napi::Env env, Napi::Object exports);    // sysv/sem_wait.cc, called by InitSysvSem
void InitSysvGuardedCopy(Napi::Env env, Napi::Object exports);  // sysv/guarded_copy.cc, called by InitSysvSem
}  // namespace shm
