// Mapping: one mapped area (mmap, SysV shmat or a Win32 view) exposed to JS as a single external ArrayBuffer.
// Thread-safety: the JS object is JS-thread only; MapState is shared with async workers and guarded by a mutex.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

namespace shm {

// Called exactly once to release the memory. A plain function (munmap, shmdt) or a lambda that carries context
// (the Win32 backend captures its mapping HANDLE to close it after UnmapViewOfFile).
using UnmapFn = std::function<void(void* addr, size_t size)>;

// The memory itself. It is unmapped exactly once: by close() when no worker uses it, by the last worker that
// leaves after close(), or when the last owner (JS object or ArrayBuffer finalizer) lets go.
class MapState {
 public:
  MapState(void* addr, size_t size, UnmapFn unmap) : addr_(addr), size_(size), unmap_(unmap) {}
  ~MapState() { UnmapNow(); }
  void* addr() const { return addr_; }
  size_t size() const { return size_; }
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  // Marks closed and unmaps unless a worker is inside; returns false if it was already closed.
  bool Close();
  // A worker announces it will touch the memory; fails if the mapping is closed.
  bool Enter();
  void Leave();

 private:
  void UnmapNow();
  void* addr_;
  size_t size_;
  UnmapFn unmap_;
  std::mutex mu_;
  std::atomic<bool> closed_{false};
  bool unmapped_ = false;
  int inflight_ = 0;
};

class Mapping : public Napi::ObjectWrap<Mapping> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Wraps freshly mapped memory. `kind` is "mmap", "sysv" or "win32".
  static Napi::Object Create(Napi::Env env, void* addr, size_t size, UnmapFn unmap, const char* kind);
  // Validates that `v` is a Mapping created by this addon and returns it (throws TypeError otherwise).
  static Mapping* From(Napi::Env env, const Napi::Value& v);

  explicit Mapping(const Napi::CallbackInfo& info);
  ~Mapping() override;

  const std::shared_ptr<MapState>& state() const { return state_; }
  // Pointer to the aligned 32-bit word at `offset`; throws if closed, misaligned or out of bounds.
  uint32_t* Word(Napi::Env env, int64_t offset) const;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetBuffer(const Napi::CallbackInfo& info);
  Napi::Value GetSize(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value GetKind(const Napi::CallbackInfo& info);

  std::shared_ptr<MapState> state_;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  const char* kind_ = "mmap";
};

}  // namespace shm
