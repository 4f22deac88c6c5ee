// GuardedCopy: a copy between a JS buffer and pieces of attached segments under a semop lock, in one call: apply
// a lock table, check words, write words, copy, write words, apply an unlock table. Thread-safety: JS thread only.
//
// Format-free mechanism (docs/decisions/0009): every offset, expected value and table comes from the caller, who
// knows the format (packages/sharelite/src/protocol.ts for IPC::ShareLite); nothing here knows a header. The plan
// (segments, checks, pieces, writes) is read and bounds-checked once when the object is made; a hot call passes
// (plan id, lock table, unlock table, buffer). Measured here: the call itself costs 0.06 us, but the same two
// semops cost ~1 us more CPU as two addon calls with JS between them than back to back in one. When a check fails
// the call returns kGuardFailed with the lock still held and nothing written: the caller re-reads the memory and
// does the work itself under that lock, with no second lock round trip and no window in which another process
// could change what it checked. No JS runs inside a call, so no mapping can be closed between the closed-check
// and the copy.
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"
#include "sysv/id_slots.h"
#include "sysv/semop.h"

namespace shm {
namespace {

// Statuses, mirrored by GuardedCopyStatus in src/sysv.ts. Successes are the byte count (>= 0).
constexpr int32_t kWouldBlock = -1;   // the lock table (IPC_NOWAIT) would block: nothing held, nothing done
constexpr int32_t kGuardFailed = -2;  // a check or the count failed: the lock stays held, nothing written
constexpr int32_t kUnlockLost = -3;   // done, but the unlock table found a semaphore at 0 (EAGAIN)

enum WriteOp : int32_t { kSet = 0, kAdd = 1, kSetCount = 2 };

struct Word {
  uint32_t seg;
  uint32_t off;
  int32_t value;
  int32_t op;  // writes only
};
struct Piece {
  uint32_t seg;
  uint32_t off;
  uint32_t len;
};

struct PlanState {
  std::shared_ptr<SemTablesState> tables;
  std::vector<std::shared_ptr<MapState>> segs;
  bool write = false;  // data -> segments; else segments -> data
  std::vector<Word> checks, before, after;
  bool count_from_word = false;
  Word count{};
  std::vector<Piece> pieces;
  uint64_t capacity = 0;  // sum of the pieces' lengths
};

const napi_type_tag kPlanTag = {0x71e04b9d2c5a4f36ULL, 0x8b3fd6a1e9c27054ULL};
thread_local IdSlots<PlanState> t_plans;

int32_t Load(char* const* base, const Word& w) {
  return *reinterpret_cast<const volatile int32_t*>(base[w.seg] + w.off);
}
void Store(char* const* base, const Word& w, int32_t v) {
  *reinterpret_cast<volatile int32_t*>(base[w.seg] + w.off) = v;
}

void ApplyWrites(char* const* base, const std::vector<Word>& ws, uint32_t count) {
  for (const Word& w : ws) {
    int32_t v = w.value;
    if (w.op == kAdd) v = static_cast<int32_t>(static_cast<uint32_t>(Load(base, w)) + static_cast<uint32_t>(v));
    if (w.op == kSetCount) v = static_cast<int32_t>(count);
    Store(base, w, v);
  }
}

Napi::Int32Array Int32Arg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t width) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, std::string("Expected an Int32Array for ") + name);
  }
  Napi::Int32Array a = info[i].As<Napi::Int32Array>();
  if (a.ElementLength() % width != 0) {
    throw Napi::RangeError::New(
        env, std::string("Expected a multiple of ") + std::to_string(width) + " numbers for " + name);
  }
  return a;
}

class GuardedCopy : public Napi::ObjectWrap<GuardedCopy> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "GuardedCopy", {InstanceAccessor<&GuardedCopy::GetId>("id")});
  }

  // new GuardedCopy(tables, maps, write, checks, count, pieces, before, after): `tables` a SemTables id; `maps` the
  // segments, indexed by the rest; checks (seg, offset, value) triples; count empty or (seg, offset); pieces (seg,
  // offset, length) triples; before/after (seg, offset, op, value) quadruples, op 0 set, 1 add, 2 set the count.
  explicit GuardedCopy(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GuardedCopy>(info) {
    Napi::Env env = info.Env();
    auto p = std::make_shared<PlanState>();
    p->tables = FindSemTables(ArgInt32(info, 0, "tables"));
    if (!p->tables) throw Napi::TypeError::New(env, "Expected the id of a live SemTables for tables");
    if (info.Length() < 2 || !info[1].IsArray())
      throw Napi::TypeError::New(env, "Expected an array of Mappings for maps");
    Napi::Array maps = info[1].As<Napi::Array>();
    if (maps.Length() == 0 || maps.Length() > 65536)
      throw Napi::RangeError::New(env, "Expected 1..65536 Mappings for maps");
    for (uint32_t k = 0; k < maps.Length(); ++k) p->segs.push_back(Mapping::From(env, maps.Get(k))->state());
    p->write = ArgBool(info, 2, "write");
    p->checks = Words(env, *p, Int32Arg(info, 3, "checks", 3), "checks", false);
    Napi::Int32Array count = Int32Arg(info, 4, "count", 2);
    if (count.ElementLength() > 2) throw Napi::RangeError::New(env, "Expected 0 or 2 numbers for count");
    if (count.ElementLength() == 2) {
      p->count_from_word = true;
      p->count = CheckWord(env, *p, count[0], count[1], 0, kSet, "count");
    }
    Napi::Int32Array pieces = Int32Arg(info, 5, "pieces", 3);
    for (size_t k = 0; k < pieces.ElementLength(); k += 3) {
      int32_t seg = pieces[k], off = pieces[k + 1], len = pieces[k + 2];
      std::string name = "pieces[" + std::to_string(k / 3) + "]";
      CheckSeg(env, *p, seg, name);
      size_t size = p->segs[static_cast<size_t>(seg)]->size();
      if (off < 0 || len < 0 || static_cast<uint64_t>(off) + static_cast<uint64_t>(len) > size) {
        throw Napi::RangeError::New(env, "Expected a range within its segment's " + std::to_string(size) +
                                             " bytes for " + name);
      }
      p->pieces.push_back({static_cast<uint32_t>(seg), static_cast<uint32_t>(off), static_cast<uint32_t>(len)});
      p->capacity += static_cast<uint64_t>(len);
    }
    p->before = Words(env, *p, Int32Arg(info, 6, "before", 4), "before", true);
    p->after = Words(env, *p, Int32Arg(info, 7, "after", 4), "after", true);
    id_ = t_plans.Add(std::move(p));
    if (id_ < 0) throw Napi::RangeError::New(env, "Too many GuardedCopy plans");
    napi_type_tag_object(env, info.This(), &kPlanTag);
  }

  ~GuardedCopy() override { t_plans.Remove(id_); }

 private:
  static void CheckSeg(Napi::Env env, const PlanState& p, int32_t seg, const std::string& name) {
    if (seg < 0 || static_cast<size_t>(seg) >= p.segs.size()) {
      throw Napi::RangeError::New(env, "Expected a segment index below " + std::to_string(p.segs.size()) +
                                           " for " + name);
    }
  }

  static Word CheckWord(Napi::Env env, const PlanState& p, int32_t seg, int32_t off, int32_t value, int32_t op,
                        const std::string& name) {
    CheckSeg(env, p, seg, name);
    size_t size = p.segs[static_cast<size_t>(seg)]->size();
    if (off < 0 || off % 4 != 0 || static_cast<uint64_t>(off) + 4 > size) {
      throw Napi::RangeError::New(env, "Expected an aligned word offset within the segment's " +
                                           std::to_string(size) + " bytes for " + name);
    }
    if (op < kSet || op > kSetCount)
      throw Napi::RangeError::New(env, "Expected 0 (set), 1 (add) or 2 (count) for " + name);
    return {static_cast<uint32_t>(seg), static_cast<uint32_t>(off), value, op};
  }

  static std::vector<Word> Words(Napi::Env env, const PlanState& p, Napi::Int32Array a, const char* name,
                                 bool writes) {
    size_t width = writes ? 4 : 3;
    std::vector<Word> out;
    for (size_t k = 0; k < a.ElementLength(); k += width) {
      std::string n = std::string(name) + "[" + std::to_string(k / width) + "]";
      out.push_back(writes ? CheckWord(env, p, a[k], a[k + 1], a[k + 3], a[k + 2], n)
                           : CheckWord(env, p, a[k], a[k + 1], a[k + 2], kSet, n));
    }
    return out;
  }

  Napi::Value GetId(const Napi::CallbackInfo& info) {
    bool ok = false;
    napi_check_object_type_tag(info.Env(), info.This(), &kPlanTag, &ok);
    if (!ok) throw Napi::TypeError::New(info.Env(), "Expected a GuardedCopy as this");
    return Napi::Number::New(info.Env(), id_);
  }

  int32_t id_ = -1;
};

// The table `index` of `t` (-1: none), checked before anything is applied.
std::vector<struct sembuf>* Table(Napi::Env env, SemTablesState& t, napi_value v, const char* name) {
  int32_t index;
  if (napi_get_value_int32(env, v, &index) != napi_ok)
    throw Napi::TypeError::New(env, std::string("Expected a number for ") + name);
  if (index == -1) return nullptr;
  if (index < 0 || static_cast<size_t>(index) >= t.tables.size())
    throw Napi::RangeError::New(env, std::string("Expected -1 or the index of one of its tables for ") + name);
  return &t.tables[static_cast<size_t>(index)];
}

// guardedCopy(plan, lock, unlock, data) -> byte count | kWouldBlock | kGuardFailed | kUnlockLost. Throws a
// ShmSystemError `semop` (the lock was not taken, or the unlock failed) or EBADF for a closed segment (before
// locking).
Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_value argv[4] = {info[0], info[1], info[2], info[3]};  // missing arguments read as undefined
  int32_t id;
  if (napi_get_value_int32(env, argv[0], &id) != napi_ok)
    throw Napi::TypeError::New(env, "Expected a number for plan");
  const std::shared_ptr<PlanState>* found = t_plans.Find(id);
  if (!found) throw Napi::TypeError::New(env, "Expected the id of a live GuardedCopy for plan");
  // No JS value is made before the last use of `p` (statuses and errors are made after it), so no finalizer can
  // run and free the plan meanwhile: a raw reference, no reference-count traffic.
  const PlanState& p = **found;
  SemTablesState& t = *p.tables;
  std::vector<struct sembuf>* lock = Table(env, t, argv[1], "lock");
  std::vector<struct sembuf>* unlock = Table(env, t, argv[2], "unlock");
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, argv[3], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    throw Napi::TypeError::New(env, "Expected a Uint8Array for data");
  }
  if (p.write && length > INT32_MAX)
    throw Napi::RangeError::New(env, "Expected at most 2147483647 bytes for data");

  constexpr size_t kInline = 16;
  char* inline_base[kInline];
  std::vector<char*> more;
  char** base = inline_base;
  if (p.segs.size() > kInline) {
    more.resize(p.segs.size());
    base = more.data();
  }
  for (size_t k = 0; k < p.segs.size(); ++k) {
    if (p.segs[k]->closed()) ThrowSys(env, EBADF, "guardedCopy", "segment " + std::to_string(k) + " is closed");
    base[k] = static_cast<char*>(p.segs[k]->addr());
  }

  if (lock) {
    int r = TimedSemop(t.semid, lock->data(), lock->size(), -1);
    if (r == -EAGAIN) return Napi::Number::New(env, kWouldBlock);
    if (r < 0) ThrowSys(env, -r, "semop", "semid " + std::to_string(t.semid));
  }
  for (const Word& w : p.checks) {
    if (Load(base, w) != w.value) return Napi::Number::New(env, kGuardFailed);
  }
  uint64_t count = length;
  if (p.count_from_word) {
    int32_t c = Load(base, p.count);
    if (c < 0 || static_cast<uint64_t>(c) > length) return Napi::Number::New(env, kGuardFailed);
    count = static_cast<uint64_t>(c);
  }
  if (count > p.capacity) return Napi::Number::New(env, kGuardFailed);

  ApplyWrites(base, p.before, static_cast<uint32_t>(count));
  uint8_t* bytes = static_cast<uint8_t*>(data);
  uint64_t done = 0;
  for (size_t k = 0; done < count; ++k) {
    const Piece& pc = p.pieces[k];
    size_t n = static_cast<size_t>(count - done < pc.len ? count - done : pc.len);
    char* at = base[pc.seg] + pc.off;
    // memmove: data may be a view of one of the segments.
    if (p.write) std::memmove(at, bytes + done, n);
    else std::memmove(bytes + done, at, n);
    done += n;
  }
  ApplyWrites(base, p.after, static_cast<uint32_t>(count));

  if (unlock) {
    int r = TimedSemop(t.semid, unlock->data(), unlock->size(), -1);
    if (r == -EAGAIN) return Napi::Number::New(env, kUnlockLost);
    if (r < 0) ThrowSys(env, -r, "semop", "semid " + std::to_string(t.semid));
  }
  return Napi::Number::New(env, static_cast<double>(count));
}

}  // namespace

void InitSysvGuardedCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("GuardedCopy", GuardedCopy::Init(env));
  Export(env, exports, "guardedCopy", Run);
}

}  // namespace shm
