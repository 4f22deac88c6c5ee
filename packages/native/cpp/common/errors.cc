// System-error construction and positional argument checks shared by every backend.
// Thread-safety: JS thread only.
#include "common/errors.h"

#include <cstring>

#include "common/addon_data.h"

namespace shm {

void SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) ThrowType(info.Env(), "setErrorClass expects a constructor");
  Data(info.Env()).error_ctor = Napi::Persistent(info[0].As<Napi::Function>());
}

Napi::Error SysError(Napi::Env env, int err, const char* syscall, const std::string& target) {
  std::string msg = std::string(syscall) + " failed: " + std::strerror(err);
  if (!target.empty()) msg += " (" + target + ")";
  Napi::FunctionReference& ctor = Data(env).error_ctor;
  if (!ctor.IsEmpty()) {
    Napi::Object obj = ctor.New({Napi::String::New(env, msg), Napi::Number::New(env, err),
                                          Napi::String::New(env, syscall), Napi::String::New(env, target)});
    return Napi::Error(env, obj);
  }
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.Set("target", Napi::String::New(env, target));
  return e;
}

Napi::Error SysErrorCode(Napi::Env env, int err, const std::string& code, const std::string& detail,
                         const char* syscall, const std::string& target) {
  std::string msg = std::string(syscall) + " failed: " + detail;
  if (!target.empty()) msg += " (" + target + ")";
  Napi::FunctionReference& ctor = Data(env).error_ctor;
  if (!ctor.IsEmpty()) {
    Napi::Object obj = ctor.New({Napi::String::New(env, msg), Napi::Number::New(env, err),
                                          Napi::String::New(env, syscall), Napi::String::New(env, target),
                                          Napi::String::New(env, code)});
    return Napi::Error(env, obj);
  }
  Napi::Error e = Napi::Error::New(env, code + ": " + msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.Set("target", Napi::String::New(env, target));
  return e;
}

void ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& target) {
  throw SysError(env, err, syscall, target);
}

void ThrowType(Napi::Env env, const char* what) { throw Napi::TypeError::New(env, what); }

double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected a number for ") + name);
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

int32_t ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected a number for ") + name);
  }
  return info[i].As<Napi::Number>().Int32Value();
}

int64_t ArgInt64(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d = ArgNumber(info, i, name);
  if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string("Expected a safe integer for ") + name);
  }
  return static_cast<int64_t>(d);
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected a string for ") + name);
  }
  return info[i].As<Napi::String>().Utf8Value();
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected a boolean for ") + name);
  }
  return info[i].As<Napi::Boolean>().Value();
}

}  // namespace shm
