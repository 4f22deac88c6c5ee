// ShareLiteChain: IPC::ShareLite 0.17 store and fetch (PERL-FORMATS.md §2-§4), each one native call: lock
// semop, header checks, chunk copies along the attached chain, unlock semop. Thread-safety: JS thread only.
//
// The object holds what does not change per call (semid, the six op tables, the attached segments) so the hot
// call passes a mode, shm_state and one buffer: argument conversion, not the copy, dominated small values.
// Policy stays in packages/sharelite, which attaches, creates and collects segments and builds the errors:
// whenever the fast path cannot finish (the chain changed, is not attached far enough or needs collecting, or
// the length is negative) it returns kSlow with the lock still held and nothing written, and the caller does
// the work itself. Nothing here runs JS between checking the segments and copying, so no mapping can be
// closed in between.
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/types.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"

namespace shm {
namespace {

// Statuses, mirrored by ShareLiteStatus in src/binding-types.ts. Successes are >= 0 (or a Buffer).
constexpr int32_t kWouldBlock = -1;  // the non-blocking lock would block: no lock taken, nothing done
constexpr int32_t kSlow = -2;  // the lock is held (taken by the call or before it), nothing read or written
constexpr int32_t kUnlockLost = -3;  // done, but the unlock found the semaphore already 0 (EAGAIN)
// Lock modes, mirrored by ShareLiteLock: take (blocking) and release; take with IPC_NOWAIT and release; the
// caller holds a lock already (no semop at all).
constexpr int32_t kTake = 0, kTryTake = 1, kHeld = 2;

constexpr size_t kHeader = 16;  // next_shmid, length, shm_state, version: 4 bytes each, native order
constexpr size_t kMaxOps = 8;

const napi_type_tag kChainTag = {0x5a3c9e1f27b84d06ULL, 0xb1e4f7a2c90d3e58ULL};

struct Ops {
  struct sembuf v[kMaxOps];
  size_t n = 0;
};

// Header fields are read once into locals and never re-read: another process may change them at any time.
int32_t Load(const char* seg, size_t off) { return *reinterpret_cast<const volatile int32_t*>(seg + off); }
void Put(char* seg, size_t off, int32_t v) { *reinterpret_cast<volatile int32_t*>(seg + off) = v; }

// 0 or errno; EINTR is retried (a blocking lock simply waits again).
int Apply(int id, const Ops& ops) {
  for (;;) {
    if (semop(id, const_cast<struct sembuf*>(ops.v), ops.n) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

// What the hot calls need, shared with the table below so that a call keeps it alive even if the JS object
// were collected meanwhile.
struct ChainState {
  int32_t semid = -1;
  Ops ops[6];
  std::vector<std::shared_ptr<MapState>> segs;
  size_t size = 0;
};
enum Table { kExLock, kExLockNb, kExUnlock, kShLock, kShLockNb, kShUnlock };

// Live chains of this thread's env, found by id = generation << 20 | slot. An id whose chain was collected
// (or that was never issued) no longer matches its slot's generation. Hot calls pass the id, a plain number:
// looking up a wrapped object's pointer and type tag (napi_unwrap, napi_check_object_type_tag) cost more than
// the rest of a 16-byte fetch outside the kernel.
struct Slot {
  std::shared_ptr<ChainState> chain;
  int32_t gen = 0;
};
constexpr int32_t kSlotBits = 20;
thread_local std::vector<Slot> t_slots;
thread_local std::vector<int32_t> t_free;

std::shared_ptr<ChainState> Lookup(Napi::Env env, napi_value v) {
  int32_t id;
  if (napi_get_value_int32(env, v, &id) != napi_ok)
    throw Napi::TypeError::New(env, "Expected a number for chain");
  size_t slot = static_cast<size_t>(id & ((1 << kSlotBits) - 1));
  if (id < 0 || slot >= t_slots.size() || !t_slots[slot].chain || t_slots[slot].gen != (id >> kSlotBits)) {
    throw Napi::TypeError::New(env, "Expected the id of a live ShareLiteChain for chain");
  }
  return t_slots[slot].chain;
}

class ShareLiteChain : public Napi::ObjectWrap<ShareLiteChain> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ShareLiteChain",
                       {
                           InstanceAccessor<&ShareLiteChain::GetId>("id"),
                           InstanceMethod<&ShareLiteChain::SetSegments>("setSegments"),
                       });
  }

  // new ShareLiteChain(semid, exLock, exLockNb, exUnlock, shLock, shLockNb, shUnlock): flat (num, op, flg)
  // triples in Int32Arrays, applied exactly as given.
  explicit ShareLiteChain(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ShareLiteChain>(info) {
    auto c = std::make_shared<ChainState>();
    c->semid = ArgInt32(info, 0, "semid");
    const char* names[6] = {"exLock", "exLockNb", "exUnlock", "shLock", "shLockNb", "shUnlock"};
    for (size_t k = 0; k < 6; ++k) c->ops[k] = ReadTable(info, k + 1, names[k]);
    size_t slot;
    if (!t_free.empty()) {
      slot = static_cast<size_t>(t_free.back());
      t_free.pop_back();
    } else {
      if (t_slots.size() >= (size_t{1} << kSlotBits))
        throw Napi::RangeError::New(info.Env(), "Too many ShareLiteChains");
      slot = t_slots.size();
      t_slots.emplace_back();
    }
    Slot& s = t_slots[slot];
    s.gen = (s.gen + 1) & ((1 << (31 - kSlotBits)) - 1);
    s.chain = c;
    id_ = (s.gen << kSlotBits) | static_cast<int32_t>(slot);
    napi_type_tag_object(info.Env(), info.This(), &kChainTag);
  }

  ~ShareLiteChain() override {
    size_t slot = static_cast<size_t>(id_ & ((1 << kSlotBits) - 1));
    if (id_ >= 0 && slot < t_slots.size() && t_slots[slot].gen == (id_ >> kSlotBits)) {
      t_slots[slot].chain.reset();
      t_free.push_back(static_cast<int32_t>(slot));
    }
  }

 private:
  static Ops ReadTable(const Napi::CallbackInfo& info, size_t i, const char* name) {
    Napi::Env env = info.Env();
    if (info.Length() <= i || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(env, std::string("Expected an Int32Array of sem ops for ") + name);
    }
    Napi::Int32Array t = info[i].As<Napi::Int32Array>();
    size_t n = t.ElementLength();
    if (n == 0 || n % 3 != 0 || n > 3 * kMaxOps) {
      throw Napi::RangeError::New(env, std::string("Expected 1..8 (num, op, flg) triples for ") + name);
    }
    Ops ops;
    for (size_t k = 0; k < n / 3; ++k) {
      ops.v[k].sem_num = static_cast<unsigned short>(t[3 * k]);
      ops.v[k].sem_op = static_cast<short>(t[3 * k + 1]);
      ops.v[k].sem_flg = static_cast<short>(t[3 * k + 2]);
    }
    ops.n = n / 3;
    return ops;
  }

  // Methods may be called with any `this` (Function.prototype.call): check the tag before using members.
  static void CheckThis(const Napi::CallbackInfo& info) {
    bool ok = false;
    napi_check_object_type_tag(info.Env(), info.This(), &kChainTag, &ok);
    if (!ok) throw Napi::TypeError::New(info.Env(), "Expected a ShareLiteChain as this");
  }

  Napi::Value GetId(const Napi::CallbackInfo& info) {
    CheckThis(info);
    return Napi::Number::New(info.Env(), id_);
  }

  // setSegments(maps): the attached segments in chain order, head first, all of the head's size (> 16 bytes).
  // An empty array drops them. The mappings stay owned by the caller; closing one makes later calls throw
  // EBADF.
  Napi::Value SetSegments(const Napi::CallbackInfo& info) {
    CheckThis(info);
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray())
      throw Napi::TypeError::New(env, "Expected an array of Mappings for maps");
    Napi::Array a = info[0].As<Napi::Array>();
    uint32_t n = a.Length();
    std::vector<std::shared_ptr<MapState>> segs(n);
    for (uint32_t k = 0; k < n; ++k) segs[k] = Mapping::From(env, a.Get(k))->state();
    size_t size = n > 0 ? segs[0]->size() : 0;
    if (n > 0 && size <= kHeader)
      throw Napi::RangeError::New(env, "Expected a head segment larger than 16 bytes");
    for (uint32_t k = 0; k < n; ++k) {
      if (segs[k]->size() != size) {
        throw Napi::RangeError::New(env, "Expected every segment to be " + std::to_string(size) +
                                             " bytes like the head, but segment " + std::to_string(k) +
                                             " is " + std::to_string(segs[k]->size()));
      }
    }
    const std::shared_ptr<ChainState>& c = t_slots[static_cast<size_t>(id_ & ((1 << kSlotBits) - 1))].chain;
    c->segs = std::move(segs);
    c->size = size;
    return env.Undefined();
  }

  int32_t id_ = -1;
};

// The first `n` segments' base addresses; throws EBADF if one was closed. Called under the lock: no JS runs.
void Bases(Napi::Env env, const ChainState& c, size_t n, char** out) {
  for (size_t k = 0; k < n; ++k) {
    const MapState& st = *c.segs[k];
    if (st.closed()) ThrowSys(env, EBADF, "sharelite", "segment " + std::to_string(k) + " is closed");
    out[k] = static_cast<char*>(st.addr());
  }
}

// The base addresses of the `nseg` segments a value spans: just `head` (already looked up) when it fits
// there, else all of them, written to `more`.
char** ChainBases(Napi::Env env, const ChainState& c, size_t nseg, char** head, std::vector<char*>& more) {
  if (nseg <= 1) return head;
  more.resize(nseg);
  Bases(env, c, nseg, more.data());
  return more.data();
}

// The common arguments of the hot calls: (chain id, lock mode, state, buffer).
struct Call {
  std::shared_ptr<ChainState> chain;
  int32_t mode;
  uint32_t state;
  uint8_t* data = nullptr;
  size_t length = 0;
  bool has_data = false;
};

Call ReadCall(const Napi::CallbackInfo& info, bool data_optional, const char* data_name) {
  Napi::Env env = info.Env();
  napi_value argv[4] = {info[0], info[1], info[2], info[3]};  // missing arguments read as undefined
  Call c;
  c.chain = Lookup(env, argv[0]);
  if (napi_get_value_int32(env, argv[1], &c.mode) != napi_ok ||
      (c.mode != kTake && c.mode != kTryTake && c.mode != kHeld)) {
    throw Napi::RangeError::New(env, "Expected 0 (take), 1 (try) or 2 (held) for lock");
  }
  if (napi_get_value_uint32(env, argv[2], &c.state) != napi_ok)
    throw Napi::TypeError::New(env, "Expected a number for state");
  napi_valuetype t = napi_undefined;
  if (data_optional) napi_typeof(env, argv[3], &t);
  if (!data_optional || (t != napi_null && t != napi_undefined)) {
    napi_typedarray_type type;
    void* p = nullptr;
    if (napi_get_typedarray_info(env, argv[3], &type, &c.length, &p, nullptr, nullptr) != napi_ok ||
        type != napi_uint8_array) {
      throw Napi::TypeError::New(env, std::string("Expected a Uint8Array for ") + data_name);
    }
    c.data = static_cast<uint8_t*>(p);
    c.has_data = true;
  }
  if (c.chain->segs.empty()) ThrowSys(env, EBADF, "sharelite", "no segments are attached");
  return c;
}

// Runs body() under the lock. body() returns the result, or an empty value for kSlow (the lock stays held).
// On a throw, a lock this call took is released first.
template <typename F>
Napi::Value Locked(Napi::Env env, const Call& c, Table lock, Table unlock, F body) {
  const ChainState& ch = *c.chain;
  if (c.mode != kHeld) {
    int e = Apply(ch.semid, ch.ops[c.mode == kTake ? lock : lock + 1]);
    if (e == EAGAIN) return Napi::Number::New(env, kWouldBlock);
    if (e != 0) ThrowSys(env, e, "semop", "semid " + std::to_string(ch.semid));
  }
  Napi::Value r;
  try {
    r = body();
  } catch (...) {
    if (c.mode != kHeld) Apply(ch.semid, ch.ops[unlock]);
    throw;
  }
  if (r.IsEmpty()) return Napi::Number::New(env, kSlow);
  if (c.mode != kHeld) {
    int e = Apply(ch.semid, ch.ops[unlock]);
    if (e == EAGAIN) return Napi::Number::New(env, kUnlockLost);
    if (e != 0) ThrowSys(env, e, "semop", "semid " + std::to_string(ch.semid));
  }
  return r;
}

// shareliteFetch(chain, lock, state, dest|null) -> Buffer (fresh, exactly the value) | bytes copied into dest
// (when the value fits there) | status. read_share: SH lock, shm_state check, length, chunk i from segment i,
// SH unlock.
Napi::Value Fetch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Call c = ReadCall(info, true, "dest");
  const ChainState& ch = *c.chain;
  return Locked(env, c, kShLock, kShUnlock, [&]() -> Napi::Value {
    char* head;
    Bases(env, ch, 1, &head);
    if (static_cast<uint32_t>(Load(head, 8)) != c.state) return Napi::Value();
    int32_t len = Load(head, 4);
    if (len < 0) return Napi::Value();
    const size_t ds = ch.size - kHeader;
    const size_t n = static_cast<size_t>(len);
    const size_t nseg = (n + ds - 1) / ds;
    if (nseg > ch.segs.size()) return Napi::Value();
    std::vector<char*> more;
    char** base = ChainBases(env, ch, nseg, &head, more);
    uint8_t* out;
    Napi::Value r;
    if (c.has_data && n <= c.length) {
      out = c.data;
      r = Napi::Number::New(env, static_cast<double>(n));
    } else {
      Napi::Buffer<uint8_t> b = Napi::Buffer<uint8_t>::New(env, n);  // uninitialised: every byte is copied
      out = b.Data();
      r = b;
    }
    for (size_t i = 0, off = 0; off < n; ++i, off += ds) {
      std::memmove(out + off, base[i] + kHeader, n - off < ds ? n - off : ds);  // dest may view a segment
    }
    return r;
  });
}

// shareliteStore(chain, lock, state, data) -> 0 | status. write_share steps 2-7 when the attached chain
// already holds the value and no tail needs collecting: EX lock, length = 0, chunk i to segment i, length =
// len,
// ++version, EX unlock.
Napi::Value Store(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Call c = ReadCall(info, false, "data");
  const ChainState& ch = *c.chain;
  const size_t n = c.length;
  if (n > INT32_MAX) throw Napi::RangeError::New(env, "Expected at most 2147483647 bytes for data");
  return Locked(env, c, kExLock, kExUnlock, [&]() -> Napi::Value {
    char* head;
    Bases(env, ch, 1, &head);
    if (static_cast<uint32_t>(Load(head, 8)) != c.state) return Napi::Value();
    const size_t ds = ch.size - kHeader;
    const size_t nseg = (n + ds - 1) / ds;
    if (nseg > ch.segs.size()) return Napi::Value();
    std::vector<char*> more;
    char** base = ChainBases(env, ch, nseg, &head, more);
    if (Load(base[nseg > 0 ? nseg - 1 : 0], 0) >= 0) return Napi::Value();  // a tail to collect
    Put(head, 4, 0);  // a writer that dies mid-copy leaves an empty value (SEM_UNDO frees its lock)
    for (size_t i = 0, off = 0; off < n; ++i, off += ds) {
      std::memmove(base[i] + kHeader, c.data + off, n - off < ds ? n - off : ds);  // data may view a segment
    }
    Put(head, 4, static_cast<int32_t>(n));
    Put(head, 12, static_cast<int32_t>(static_cast<uint32_t>(Load(head, 12)) + 1u));
    return Napi::Number::New(env, 0);
  });
}

}  // namespace

void InitSysvShareLite(Napi::Env env, Napi::Object exports) {
  exports.Set("ShareLiteChain", ShareLiteChain::Init(env));
  Export(env, exports, "shareliteFetch", Fetch);
  Export(env, exports, "shareliteStore", Store);
}

}  // namespace shm
