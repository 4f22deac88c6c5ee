// POSIX file descriptors and mappings: shm_open/shm_unlink, open, ftruncate, posix_fallocate, fstat, mmap.
// Thread-safety: every function is a plain syscall wrapper; JS thread only (no shared state).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"

namespace shm {
namespace {

void Munmap(void* addr, size_t size) { munmap(addr, size); }

std::string FdName(int fd) { return "fd " + std::to_string(fd); }

// shmOpen(name, oflag, mode) -> fd
Napi::Value ShmOpen(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "name");
  int oflag = ArgInt32(info, 1, "oflag");
  int mode = ArgInt32(info, 2, "mode");
  int fd;
  do fd = shm_open(name.c_str(), oflag, static_cast<mode_t>(mode));
  while (fd < 0 && errno == EINTR);
  if (fd < 0) ThrowSys(info.Env(), errno, "shm_open", name);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value ShmUnlink(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "name");
  if (shm_unlink(name.c_str()) != 0) ThrowSys(info.Env(), errno, "shm_unlink", name);
  return info.Env().Undefined();
}

// openFile(path, oflag, mode) -> fd (close-on-exec)
Napi::Value OpenFile(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  int oflag = ArgInt32(info, 1, "oflag");
  int mode = ArgInt32(info, 2, "mode");
  int fd;
  do fd = open(path.c_str(), oflag | O_CLOEXEC, static_cast<mode_t>(mode));
  while (fd < 0 && errno == EINTR);
  if (fd < 0) ThrowSys(info.Env(), errno, "open", path);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  int64_t size = ArgInt64(info, 1, "size");
  int rc;
  do rc = ftruncate(fd, static_cast<off_t>(size));
  while (rc != 0 && errno == EINTR);
  if (rc != 0) ThrowSys(info.Env(), errno, "ftruncate", FdName(fd));
  return info.Env().Undefined();
}

// fallocate(fd, offset, len): reserves the blocks now, so a full tmpfs is ENOSPC here and not SIGBUS later.
Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  int64_t off = ArgInt64(info, 1, "offset");
  int64_t len = ArgInt64(info, 2, "length");
#if defined(__linux__)
  int rc;
  do rc = posix_fallocate(fd, static_cast<off_t>(off), static_cast<off_t>(len));
  while (rc == EINTR);
  if (rc != 0) ThrowSys(info.Env(), rc, "posix_fallocate", FdName(fd));
#else
  struct stat st;
  if (fstat(fd, &st) != 0) ThrowSys(info.Env(), errno, "fstat", FdName(fd));
  if (st.st_size < off + len && ftruncate(fd, static_cast<off_t>(off + len)) != 0) {
    ThrowSys(info.Env(), errno, "ftruncate", FdName(fd));
  }
#endif
  return info.Env().Undefined();
}

Napi::Value Fstat(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  struct stat st;
  if (fstat(fd, &st) != 0) ThrowSys(info.Env(), errno, "fstat", FdName(fd));
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", Napi::Number::New(env, static_cast<double>(st.st_size)));
  o.Set("mode", Napi::Number::New(env, st.st_mode));
  o.Set("uid", Napi::Number::New(env, st.st_uid));
  o.Set("gid", Napi::Number::New(env, st.st_gid));
  o.Set("ino", Napi::Number::New(env, static_cast<double>(st.st_ino)));
  o.Set("dev", Napi::Number::New(env, static_cast<double>(st.st_dev)));
  o.Set("isFile", Napi::Boolean::New(env, S_ISREG(st.st_mode)));
  return o;
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  if (close(fd) != 0 && errno != EINTR) ThrowSys(info.Env(), errno, "close", FdName(fd));
  return info.Env().Undefined();
}

// mmap(fd, size, offset, readonly, populate) -> Mapping. Refuses to map past the end of the file: touching such
// a page would raise SIGBUS, which JS cannot catch.
Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  int64_t size = ArgInt64(info, 1, "size");
  int64_t offset = ArgInt64(info, 2, "offset");
  bool readonly = ArgBool(info, 3, "readonly");
  bool populate = ArgBool(info, 4, "populate");
  if (size <= 0 || offset < 0) ThrowSys(env, EINVAL, "mmap", FdName(fd) + ": size must be positive");
  struct stat st;
  if (fstat(fd, &st) != 0) ThrowSys(env, errno, "fstat", FdName(fd));
  if (static_cast<int64_t>(st.st_size) < offset + size) {
    ThrowSys(env, EINVAL, "mmap",
             FdName(fd) + ": object has " + std::to_string(st.st_size) + " bytes, mapping needs " +
                 std::to_string(offset + size));
  }
  int flags = MAP_SHARED;
#if defined(MAP_POPULATE)
  if (populate) flags |= MAP_POPULATE;
#endif
  int prot = readonly ? PROT_READ : (PROT_READ | PROT_WRITE);
  void* addr = mmap(nullptr, static_cast<size_t>(size), prot, flags, fd, static_cast<off_t>(offset));
  if (addr == MAP_FAILED) ThrowSys(env, errno, "mmap", FdName(fd));
  return Mapping::Create(env, addr, static_cast<size_t>(size), Munmap, "mmap");
}

}  // namespace

void InitFdOps(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "shmOpen", ShmOpen);
  Export(env, exports, "shmUnlink", ShmUnlink);
  Export(env, exports, "openFile", OpenFile);
  Export(env, exports, "ftruncate", Ftruncate);
  Export(env, exports, "fallocate", Fallocate);
  Export(env, exports, "fstat", Fstat);
  Export(env, exports, "closeFd", CloseFd);
  Export(env, exports, "mmap", Mmap);
  Napi::Object c = Napi::Object::New(env);
  c.Set("O_RDONLY", static_cast<double>(O_RDONLY));
  c.Set("O_RDWR", static_cast<double>(O_RDWR));
  c.Set("O_CREAT", static_cast<double>(O_CREAT));
  c.Set("O_EXCL", static_cast<double>(O_EXCL));
  c.Set("O_TRUNC", static_cast<double>(O_TRUNC));
  c.Set("PAGE_SIZE", static_cast<double>(sysconf(_SC_PAGESIZE)));
  exports.Set("fdConstants", c);
}

}  // namespace shm
