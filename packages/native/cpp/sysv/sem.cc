// SysV semaphore sets: semget, one atomic multi-op semop (optionally timed), GETVAL/SETVAL/GETALL, IPC_STAT and
// IPC_RMID. Flags (SEM_UNDO, IPC_NOWAIT) are passed exactly as given; async waits are in sem_wait.cc.
// Thread-safety: stateless; TimedSemop may run on any thread.
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/exports.h"
#include "sysv/semop.h"

namespace shm {
namespace {

#if defined(__linux__)
// glibc leaves union semun to the caller.
union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};
#endif

std::string IdName(int32_t id) { return "semid " + std::to_string(id); }

// semop(semid, [num, op, flg, ...], timeoutMs) -> 0 | -EAGAIN; throws for any other failure.
Napi::Value Semop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id = ArgInt32(info, 0, "semid");
  std::vector<struct sembuf> ops = ReadOps(info, 1);
  double timeout = ArgNumber(info, 2, "timeoutMs");
  int r = TimedSemop(id, ops.data(), ops.size(), timeout);
  if (r < 0 && r != -EAGAIN) ThrowSys(env, -r, "semop", IdName(id));
  return Napi::Number::New(env, r);
}

Napi::Value Semget(const Napi::CallbackInfo& info) {
  int32_t key = ArgInt32(info, 0, "key");
  int32_t nsems = ArgInt32(info, 1, "nsems");
  int32_t flags = ArgInt32(info, 2, "flags");
  int id = semget(static_cast<key_t>(key), nsems, flags);
  if (id < 0) ThrowSys(info.Env(), errno, "semget", "key " + std::to_string(key));
  return Napi::Number::New(info.Env(), id);
}

Napi::Value SemGetVal(const Napi::CallbackInfo& info) {
  int32_t id = ArgInt32(info, 0, "semid");
  int32_t num = ArgInt32(info, 1, "num");
  int v = semctl(id, num, GETVAL);
  if (v < 0) ThrowSys(info.Env(), errno, "semctl(GETVAL)", IdName(id));
  return Napi::Number::New(info.Env(), v);
}

Napi::Value SemSetVal(const Napi::CallbackInfo& info) {
  int32_t id = ArgInt32(info, 0, "semid");
  int32_t num = ArgInt32(info, 1, "num");
  union semun arg;
  arg.val = ArgInt32(info, 2, "value");
  if (semctl(id, num, SETVAL, arg) != 0) ThrowSys(info.Env(), errno, "semctl(SETVAL)", IdName(id));
  return info.Env().Undefined();
}

Napi::Value SemStat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id = ArgInt32(info, 0, "semid");
  struct semid_ds ds;
  union semun arg;
  arg.buf = &ds;
  if (semctl(id, 0, IPC_STAT, arg) != 0) ThrowSys(env, errno, "semctl(IPC_STAT)", IdName(id));
  Napi::Object o = Napi::Object::New(env);
#if defined(__linux__)
  o.Set("key", Napi::Number::New(env, ds.sem_perm.__key));
#else
  o.Set("key", Napi::Number::New(env, ds.sem_perm._key));
#endif
  o.Set("nsems", Napi::Number::New(env, static_cast<double>(ds.sem_nsems)));
  o.Set("mode", Napi::Number::New(env, ds.sem_perm.mode & 0777));
  o.Set("uid", Napi::Number::New(env, ds.sem_perm.uid));
  o.Set("cuid", Napi::Number::New(env, ds.sem_perm.cuid));
  o.Set("otime", Napi::Number::New(env, static_cast<double>(ds.sem_otime)));
  o.Set("ctime", Napi::Number::New(env, static_cast<double>(ds.sem_ctime)));
  return o;
}

Napi::Value SemGetAll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id = ArgInt32(info, 0, "semid");
  struct semid_ds ds;
  union semun arg;
  arg.buf = &ds;
  if (semctl(id, 0, IPC_STAT, arg) != 0) ThrowSys(env, errno, "semctl(IPC_STAT)", IdName(id));
  std::vector<unsigned short> vals(ds.sem_nsems);
  arg.array = vals.data();
  if (semctl(id, 0, GETALL, arg) != 0) ThrowSys(env, errno, "semctl(GETALL)", IdName(id));
  Napi::Array a = Napi::Array::New(env, vals.size());
  for (size_t k = 0; k < vals.size(); ++k) a.Set(static_cast<uint32_t>(k), Napi::Number::New(env, vals[k]));
  return a;
}

Napi::Value SemRemove(const Napi::CallbackInfo& info) {
  int32_t id = ArgInt32(info, 0, "semid");
  if (semctl(id, 0, IPC_RMID) != 0) ThrowSys(info.Env(), errno, "semctl(IPC_RMID)", IdName(id));
  return info.Env().Undefined();
}

}  // namespace

std::vector<struct sembuf> ReadOps(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Env env = info.Env();
  if (info.Length() > i && info[i].IsTypedArray()) {
    Napi::TypedArray t = info[i].As<Napi::TypedArray>();
    if (t.TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(env, std::string("Expected an Int32Array of sem ops for ") + name);
    size_t n = t.ElementLength();
    if (n == 0 || n % 3 != 0 || n > 3 * kMaxSemOps)
      throw Napi::RangeError::New(env, std::string("Expected 1..64 (num, op, flg) triples for ") + name);
    const int32_t* v = t.As<Napi::Int32Array>().Data();
    std::vector<struct sembuf> ops(n / 3);
    for (size_t k = 0; k < n / 3; ++k) {
      ops[k].sem_num = static_cast<unsigned short>(v[3 * k]);
      ops[k].sem_op = static_cast<short>(v[3 * k + 1]);
      ops[k].sem_flg = static_cast<short>(v[3 * k + 2]);
    }
    return ops;
  }
  if (info.Length() <= i || !info[i].IsArray())
    throw Napi::TypeError::New(env, std::string("Expected an array of sem ops for ") + name);
  Napi::Array a = info[i].As<Napi::Array>();
  uint32_t n = a.Length();
  if (n == 0 || n % 3 != 0 || n > 3 * kMaxSemOps)
    throw Napi::RangeError::New(env, std::string("Expected 1..64 (num, op, flg) triples for ") + name);
  std::vector<struct sembuf> ops(n / 3);
  for (uint32_t k = 0; k < n / 3; ++k) {
    ops[k].sem_num = static_cast<unsigned short>(a.Get(3 * k).As<Napi::Number>().Int32Value());
    ops[k].sem_op = static_cast<short>(a.Get(3 * k + 1).As<Napi::Number>().Int32Value());
    ops[k].sem_flg = static_cast<short>(a.Get(3 * k + 2).As<Napi::Number>().Int32Value());
  }
  return ops;
}

int TimedSemop(int id, struct sembuf* ops, size_t n, double timeout_ms) {
  struct timespec deadline = {0, 0};
  if (timeout_ms >= 0) {
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int64_t ns = deadline.tv_nsec + static_cast<int64_t>(timeout_ms * 1e6);
    deadline.tv_sec += static_cast<time_t>(ns / 1000000000);
    deadline.tv_nsec = static_cast<long>(ns % 1000000000);
  }
  for (;;) {
    int rc;
#if defined(__linux__)
    if (timeout_ms >= 0) {
      struct timespec now, rel;
      clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t left = (deadline.tv_sec - now.tv_sec) * 1000000000LL + (deadline.tv_nsec - now.tv_nsec);
      if (left < 0) left = 0;
      rel.tv_sec = static_cast<time_t>(left / 1000000000);
      rel.tv_nsec = static_cast<long>(left % 1000000000);
      rc = semtimedop(id, ops, n, &rel);
    } else {
      rc = semop(id, ops, n);
    }
#else
    if (timeout_ms >= 0) {
      // No semtimedop: poll with IPC_NOWAIT until the deadline.
      std::vector<struct sembuf> nb(ops, ops + n);
      for (auto& o : nb) o.sem_flg |= IPC_NOWAIT;
      rc = semop(id, nb.data(), nb.size());
      if (rc != 0 && errno == EAGAIN) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        bool expired = now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
        bool nowait = (ops[0].sem_flg & IPC_NOWAIT) != 0;
        if (!expired && !nowait) {
          usleep(1000);
          continue;
        }
      }
    } else {
      rc = semop(id, ops, n);
    }
#endif
    if (rc == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return -EAGAIN;
    return -errno;
  }
}

std::vector<struct sembuf> InverseOps(const std::vector<struct sembuf>& ops) {
  std::vector<struct sembuf> inv;
  for (const struct sembuf& o : ops) {
    if (o.sem_op == 0) continue;
    struct sembuf r = o;
    r.sem_op = static_cast<short>(-o.sem_op);
    r.sem_flg = static_cast<short>((o.sem_flg & SEM_UNDO) | IPC_NOWAIT);
    inv.push_back(r);
  }
  return inv;
}

void InitSysvSem(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "semget", Semget);
  Export(env, exports, "semop", Semop);
  Export(env, exports, "semGetVal", SemGetVal);
  Export(env, exports, "semSetVal", SemSetVal);
  Export(env, exports, "semGetAll", SemGetAll);
  Export(env, exports, "semStat", SemStat);
  Export(env, exports, "semRemove", SemRemove);
  InitSysvSemTables(env, exports);
  InitSysvSemWait(env, exports);
  InitSysvGuardedCopy(env, exports);
}

}  // namespace shm
