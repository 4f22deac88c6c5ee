// SysV shared memory: shmget, shmat (as a Mapping whose close() is shmdt), shmctl IPC_STAT and IPC_RMID.
// Thread-safety: stateless syscall wrappers; JS thread only.
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/types.h>

#include <cerrno>
#include <string>

#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"

namespace shm {
namespace {

void Shmdt(void* addr, size_t) { shmdt(addr); }

std::string KeyName(int32_t key) { return "key " + std::to_string(key); }
std::string IdName(int32_t id) { return "shmid " + std::to_string(id); }

// shmget(key, size, flags) -> shmid
Napi::Value Shmget(const Napi::CallbackInfo& info) {
  int32_t key = ArgInt32(info, 0, "key");
  int64_t size = ArgInt64(info, 1, "size");
  int32_t flags = ArgInt32(info, 2, "flags");
  int id = shmget(static_cast<key_t>(key), static_cast<size_t>(size), flags);
  if (id < 0) ThrowSys(info.Env(), errno, "shmget", KeyName(key));
  return Napi::Number::New(info.Env(), id);
}

// shmat(shmid, readonly) -> Mapping of the whole segment (its size comes from IPC_STAT)
Napi::Value Shmat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id = ArgInt32(info, 0, "shmid");
  bool readonly = ArgBool(info, 1, "readonly");
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) ThrowSys(env, errno, "shmctl(IPC_STAT)", IdName(id));
  void* addr = shmat(id, nullptr, readonly ? SHM_RDONLY : 0);
  if (addr == reinterpret_cast<void*>(-1)) ThrowSys(env, errno, "shmat", IdName(id));
  return Mapping::Create(env, addr, ds.shm_segsz, Shmdt, "sysv");
}

Napi::Value ShmStat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id = ArgInt32(info, 0, "shmid");
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) ThrowSys(env, errno, "shmctl(IPC_STAT)", IdName(id));
  Napi::Object o = Napi::Object::New(env);
#if defined(__linux__)
  o.Set("key", Napi::Number::New(env, ds.shm_perm.__key));
#else
  o.Set("key", Napi::Number::New(env, ds.shm_perm._key));
#endif
  o.Set("size", Napi::Number::New(env, static_cast<double>(ds.shm_segsz)));
  o.Set("mode", Napi::Number::New(env, ds.shm_perm.mode & 0777));
  o.Set("uid", Napi::Number::New(env, ds.shm_perm.uid));
  o.Set("gid", Napi::Number::New(env, ds.shm_perm.gid));
  o.Set("cuid", Napi::Number::New(env, ds.shm_perm.cuid));
  o.Set("cpid", Napi::Number::New(env, ds.shm_cpid));
  o.Set("lpid", Napi::Number::New(env, ds.shm_lpid));
  o.Set("nattch", Napi::Number::New(env, static_cast<double>(ds.shm_nattch)));
  o.Set("atime", Napi::Number::New(env, static_cast<double>(ds.shm_atime)));
  o.Set("dtime", Napi::Number::New(env, static_cast<double>(ds.shm_dtime)));
  o.Set("ctime", Napi::Number::New(env, static_cast<double>(ds.shm_ctime)));
  return o;
}

Napi::Value ShmRemove(const Napi::CallbackInfo& info) {
  int32_t id = ArgInt32(info, 0, "shmid");
  if (shmctl(id, IPC_RMID, nullptr) != 0) ThrowSys(info.Env(), errno, "shmctl(IPC_RMID)", IdName(id));
  return info.Env().Undefined();
}

}  // namespace

void InitSysvShm(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "shmget", Shmget);
  Export(env, exports, "shmat", Shmat);
  Export(env, exports, "shmStat", ShmStat);
  Export(env, exports, "shmRemove", ShmRemove);
  Napi::Object c = Napi::Object::New(env);
  c.Set("IPC_CREAT", static_cast<double>(IPC_CREAT));
  c.Set("IPC_EXCL", static_cast<double>(IPC_EXCL));
  c.Set("IPC_NOWAIT", static_cast<double>(IPC_NOWAIT));
  c.Set("IPC_PRIVATE", static_cast<double>(IPC_PRIVATE));
  c.Set("SEM_UNDO", static_cast<double>(0x1000));
  exports.Set("sysvConstants", c);
}

}  // namespace shm
