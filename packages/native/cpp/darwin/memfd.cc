// macOS has no memfd: an anonymous area is a POSIX shm object unlinked right after creation, which behaves
// the same (no name, freed with its last mapping or fd). Seals do not exist; memfdSeals reports EINVAL.
// Thread-safety: stateless syscall wrappers.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "common/errors.h"
#include "common/exports.h"

namespace shm {
namespace {

Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "name");
  int64_t size = ArgInt64(info, 1, "size");
  char unique[64];
  snprintf(unique, sizeof unique, "/shm-anon-%d-%p", getpid(), static_cast<void*>(&unique));
  int fd = shm_open(unique, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) ThrowSys(env, errno, "shm_open", name);
  shm_unlink(unique);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int e = errno;
    close(fd);
    ThrowSys(env, e, "ftruncate", name);
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return Napi::Number::New(env, fd);
}

Napi::Value MemfdSeals(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  ThrowSys(info.Env(), EINVAL, "fcntl(F_GET_SEALS)", "fd " + std::to_string(fd) + " (no seals on macOS)");
}

}  // namespace

void InitMemfd(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "memfdCreate", MemfdCreate);
  Export(env, exports, "memfdSeals", MemfdSeals);
  Napi::Object c = Napi::Object::New(env);
  c.Set("F_SEAL_SHRINK", 0.0);
  c.Set("F_SEAL_GROW", 0.0);
  c.Set("F_SEAL_SEAL", 0.0);
  c.Set("F_SEAL_WRITE", 0.0);
  exports.Set("memfdConstants", c);
}

}  // namespace shm
