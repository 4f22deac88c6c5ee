// Mapping: the JS face of a mapped area, and the once-only unmapping shared by every backend.
// Thread-safety: MapState is safe to use from workers through Enter()/Leave(); Mapping is JS-thread only.
#include "common/mapping.h"

#include <string>

#include "common/addon_data.h"
#include "common/errors.h"
#include "common/word_waiter.h"

namespace shm {

namespace {
// Random 128-bit tag marking objects created by this addon's Mapping constructor.
const napi_type_tag kMappingTag = {0x8d1c4f0a5e7b4c21ULL, 0xa3f9b2d6c8e41f57ULL};
// Hand-over from Create() to the constructor it invokes on the same thread.
struct Pending {
  void* addr;
  size_t size;
  UnmapFn unmap;
  const char* kind;
};
thread_local Pending g_pending;
thread_local bool g_creating = false;
}  // namespace

bool MapState::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_.load(std::memory_order_relaxed)) return false;
  closed_.store(true, std::memory_order_release);
  if (inflight_ == 0 && !unmapped_) {
    unmapped_ = true;
    unmap_(addr_, size_);
  }
  return true;
}

bool MapState::Enter() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_.load(std::memory_order_relaxed)) return false;
  ++inflight_;
  return true;
}

void MapState::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--inflight_ == 0 && closed_.load(std::memory_order_relaxed) && !unmapped_) {
    unmapped_ = true;
    unmap_(addr_, size_);
  }
}

void MapState::UnmapNow() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!unmapped_) {
    unmapped_ = true;
    unmap_(addr_, size_);
  }
}

Napi::Function Mapping::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "Mapping",
                                 {
                                     InstanceMethod<&Mapping::Close>("close"),
                                     InstanceAccessor<&Mapping::GetBuffer>("buffer"),
                                     InstanceAccessor<&Mapping::GetSize>("size"),
                                     InstanceAccessor<&Mapping::GetClosed>("closed"),
                                     InstanceAccessor<&Mapping::GetKind>("kind"),
                                 });
  Data(env).mapping_ctor = Napi::Persistent(f);
  return f;
}

Napi::Object Mapping::Create(Napi::Env env, void* addr, size_t size, UnmapFn unmap, const char* kind) {
  g_pending = {addr, size, unmap, kind};
  g_creating = true;
  Napi::Object obj;
  try {
    obj = Data(env).mapping_ctor.New({});
  } catch (...) {
    if (g_creating) unmap(addr, size);  // the constructor never took ownership
    g_creating = false;
    throw;
  }
  return obj;
}

Mapping::Mapping(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Mapping>(info) {
  Napi::Env env = info.Env();
  if (!g_creating) throw Napi::TypeError::New(env, "Mapping cannot be constructed from JavaScript");
  g_creating = false;
  state_ = std::make_shared<MapState>(g_pending.addr, g_pending.size, g_pending.unmap);
  kind_ = g_pending.kind;
  napi_type_tag_object(env, info.This(), &kMappingTag);
  // The ArrayBuffer keeps its own reference to the state, so memory stays mapped while any view of it lives
  // (unless close() detached it first).
  auto* hold = new std::shared_ptr<MapState>(state_);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      env, state_->addr(), state_->size(),
      [](Napi::Env, void*, std::shared_ptr<MapState>* h) { delete h; }, hold);
  buffer_ = Napi::Persistent(ab);
}

Mapping::~Mapping() = default;

Mapping* Mapping::From(Napi::Env env, const Napi::Value& v) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(env, v, &kMappingTag, &ok);
  if (!ok) throw Napi::TypeError::New(env, "Expected a Mapping created by @shm/native");
  return Napi::ObjectWrap<Mapping>::Unwrap(v.As<Napi::Object>());
}

uint32_t* Mapping::Word(Napi::Env env, int64_t offset) const {
  if (state_->closed()) ThrowSys(env, EBADF, "futex", "mapping is closed");
  if (offset < 0 || (offset & 3) != 0 || static_cast<uint64_t>(offset) + 4 > state_->size()) {
    throw Napi::RangeError::New(env, "Expected an aligned 32-bit word offset inside the mapping but received " +
                                         std::to_string(offset));
  }
  return reinterpret_cast<uint32_t*>(static_cast<char*>(state_->addr()) + offset);
}

Napi::Value Mapping::Close(const Napi::CallbackInfo& info) {
  if (!buffer_.IsEmpty()) {
    Napi::ArrayBuffer ab = buffer_.Value();
    if (!ab.IsDetached()) ab.Detach();
    buffer_.Reset();
  }
  // Pending async waits on this memory end with kWaitClosed (ERR_SHM_CLOSED) and let go of it, so it is
  // unmapped as soon as the waiter threads have left it.
  if (!state_->closed()) {
    if (auto& w = Data(info.Env()).word_waiter) w->CancelMapping(state_.get());
  }
  return Napi::Boolean::New(info.Env(), state_->Close());
}

Napi::Value Mapping::GetBuffer(const Napi::CallbackInfo& info) {
  if (buffer_.IsEmpty()) return info.Env().Undefined();
  return buffer_.Value();
}

Napi::Value Mapping::GetSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(state_->size()));
}

Napi::Value Mapping::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), state_->closed());
}

Napi::Value Mapping::GetKind(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kind_); }

}  // namespace shm
