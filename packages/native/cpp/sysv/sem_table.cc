// SemTables: the semop tables of one semaphore set, read once and then applied by a plain-number id, for callers
// that lock and unlock on every operation. Thread-safety: JS thread only; ids are per env (thread_local).
//
// Format-free mechanism: the tables are (num, op, flg) triples applied exactly as given, one atomic semop each.
// A hot call passes (id, table index, timeout), three numbers: unwrapping an object or reading an Int32Array
// argument cost more than the rest of a lock round trip outside the kernel.
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/exports.h"
#include "sysv/id_slots.h"
#include "sysv/semop.h"

namespace shm {
namespace {

constexpr size_t kMaxTables = 32;

const napi_type_tag kTablesTag = {0x3c1d7e9a5b204f18ULL, 0x9e62a0d4c7b1f853ULL};

thread_local IdSlots<SemTablesState> t_tables;

class SemTables : public Napi::ObjectWrap<SemTables> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "SemTables", {InstanceAccessor<&SemTables::GetId>("id")});
  }

  // new SemTables(semid, [ops, ...]): each ops an Int32Array or array of flat (num, op, flg) triples.
  explicit SemTables(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SemTables>(info) {
    Napi::Env env = info.Env();
    auto st = std::make_shared<SemTablesState>();
    st->semid = ArgInt32(info, 0, "semid");
    if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "Expected an array of op tables for tables");
    Napi::Array a = info[1].As<Napi::Array>();
    if (a.Length() == 0 || a.Length() > kMaxTables)
      throw Napi::RangeError::New(env, "Expected 1..32 op tables for tables");
    for (uint32_t k = 0; k < a.Length(); ++k) {
      Napi::Value t = a.Get(k);
      st->tables.push_back(ReadTable(env, t, k));
    }
    id_ = t_tables.Add(std::move(st));
    if (id_ < 0) throw Napi::RangeError::New(env, "Too many SemTables");
    napi_type_tag_object(env, info.This(), &kTablesTag);
  }

  ~SemTables() override { t_tables.Remove(id_); }

 private:
  static std::vector<struct sembuf> ReadTable(Napi::Env env, Napi::Value t, uint32_t k) {
    std::string name = "tables[" + std::to_string(k) + "]";
    std::vector<struct sembuf> ops;
    if (t.IsTypedArray() && t.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
      Napi::Int32Array v = t.As<Napi::Int32Array>();
      size_t n = v.ElementLength();
      if (n == 0 || n % 3 != 0 || n > 3 * kMaxSemOps)
        throw Napi::RangeError::New(env, "Expected 1..64 (num, op, flg) triples for " + name);
      for (size_t j = 0; j < n; j += 3) {
        struct sembuf b;
        b.sem_num = static_cast<unsigned short>(v[j]);
        b.sem_op = static_cast<short>(v[j + 1]);
        b.sem_flg = static_cast<short>(v[j + 2]);
        ops.push_back(b);
      }
      return ops;
    }
    throw Napi::TypeError::New(env, "Expected an Int32Array of (num, op, flg) triples for " + name);
  }

  Napi::Value GetId(const Napi::CallbackInfo& info) {
    bool ok = false;
    napi_check_object_type_tag(info.Env(), info.This(), &kTablesTag, &ok);
    if (!ok) throw Napi::TypeError::New(info.Env(), "Expected a SemTables as this");
    return Napi::Number::New(info.Env(), id_);
  }

  int32_t id_ = -1;
};

// semApply(id, index, timeoutMs) -> 0 | -EAGAIN (would block with IPC_NOWAIT, or timed out); throws a
// ShmSystemError `semop` for any other failure.
Napi::Value SemApply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id, index;
  double timeout;
  napi_value argv[3] = {info[0], info[1], info[2]};  // missing arguments read as undefined
  if (napi_get_value_int32(env, argv[0], &id) != napi_ok)
    throw Napi::TypeError::New(env, "Expected a number for tables");
  const std::shared_ptr<SemTablesState>* found = t_tables.Find(id);
  if (!found) throw Napi::TypeError::New(env, "Expected the id of a live SemTables for tables");
  SemTablesState& st = **found;
  if (napi_get_value_int32(env, argv[1], &index) != napi_ok || index < 0 ||
      static_cast<size_t>(index) >= st.tables.size()) {
    throw Napi::RangeError::New(env, "Expected the index of one of its tables for index");
  }
  if (napi_get_value_double(env, argv[2], &timeout) != napi_ok)
    throw Napi::TypeError::New(env, "Expected a number for timeoutMs");
  std::vector<struct sembuf>& ops = st.tables[static_cast<size_t>(index)];
  int r = TimedSemop(st.semid, ops.data(), ops.size(), timeout);
  if (r < 0 && r != -EAGAIN) ThrowSys(env, -r, "semop", "semid " + std::to_string(st.semid));
  return Napi::Number::New(env, r);
}

}  // namespace

std::shared_ptr<SemTablesState> FindSemTables(int32_t id) {
  const std::shared_ptr<SemTablesState>* found = t_tables.Find(id);
  return found ? *found : nullptr;
}

void InitSysvSemTables(Napi::Env env, Napi::Object exports) {
  exports.Set("SemTables", SemTables::Init(env));
  Export(env, exports, "semApply", SemApply);
}

}  // namespace shm
