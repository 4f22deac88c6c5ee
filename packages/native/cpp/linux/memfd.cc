// Anonymous shared memory on Linux: memfd_create, sized and sealed so that no peer can shrink or grow it.
// Thread-safety: stateless syscall wrappers.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/errors.h"
#include "common/exports.h"

namespace shm {
namespace {

// memfdCreate(name, size, seal) -> fd (close-on-exec; the caller chooses whether to hand it to children)
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "name");
  int64_t size = ArgInt64(info, 1, "size");
  bool seal = ArgBool(info, 2, "seal");
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) ThrowSys(env, errno, "memfd_create", name);
  int rc;
  do rc = ftruncate(fd, static_cast<off_t>(size));
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int e = errno;
    close(fd);
    ThrowSys(env, e, "ftruncate", name);
  }
  // Reserve the pages now so that running out of memory is an error here rather than SIGBUS on first touch.
  do rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
  while (rc == EINTR);
  if (rc != 0 && rc != EOPNOTSUPP) {
    close(fd);
    ThrowSys(env, rc, "posix_fallocate", name);
  }
  if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int e = errno;
    close(fd);
    ThrowSys(env, e, "fcntl(F_ADD_SEALS)", name);
  }
  return Napi::Number::New(env, fd);
}

// memfdSeals(fd) -> seal bits; EINVAL means the fd is not a memfd.
Napi::Value MemfdSeals(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) ThrowSys(info.Env(), errno, "fcntl(F_GET_SEALS)", "fd " + std::to_string(fd));
  return Napi::Number::New(info.Env(), seals);
}

}  // namespace

void InitMemfd(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "memfdCreate", MemfdCreate);
  Export(env, exports, "memfdSeals", MemfdSeals);
  Napi::Object c = Napi::Object::New(env);
  c.Set("F_SEAL_SHRINK", static_cast<double>(F_SEAL_SHRINK));
  c.Set("F_SEAL_GROW", static_cast<double>(F_SEAL_GROW));
  c.Set("F_SEAL_SEAL", static_cast<double>(F_SEAL_SEAL));
  c.Set("F_SEAL_WRITE", static_cast<double>(F_SEAL_WRITE));
  exports.Set("memfdConstants", c);
}

}  // namespace shm
