// Win32 error names and text, and the small conversions every Windows backend file needs.
// Thread-safety: ErrorName/ErrorText/Widen/TimeoutMs are pure; Error/Throw build JS values (JS thread only).
#include "win32/win32_util.h"

#include <cmath>

#include "common/errors.h"

namespace shm {
namespace win32 {

namespace {
struct Named {
  DWORD code;
  const char* name;
};
// The errors the file-mapping, file, synchronisation and process calls used here can report.
constexpr Named kNames[] = {
    {ERROR_SUCCESS, "ERROR_SUCCESS"},
    {ERROR_INVALID_FUNCTION, "ERROR_INVALID_FUNCTION"},
    {ERROR_FILE_NOT_FOUND, "ERROR_FILE_NOT_FOUND"},
    {ERROR_PATH_NOT_FOUND, "ERROR_PATH_NOT_FOUND"},
    {ERROR_TOO_MANY_OPEN_FILES, "ERROR_TOO_MANY_OPEN_FILES"},
    {ERROR_ACCESS_DENIED, "ERROR_ACCESS_DENIED"},
    {ERROR_INVALID_HANDLE, "ERROR_INVALID_HANDLE"},
    {ERROR_NOT_ENOUGH_MEMORY, "ERROR_NOT_ENOUGH_MEMORY"},
    {ERROR_INVALID_ACCESS, "ERROR_INVALID_ACCESS"},
    {ERROR_OUTOFMEMORY, "ERROR_OUTOFMEMORY"},
    {ERROR_INVALID_DRIVE, "ERROR_INVALID_DRIVE"},
    {ERROR_WRITE_PROTECT, "ERROR_WRITE_PROTECT"},
    {ERROR_NOT_READY, "ERROR_NOT_READY"},
    {ERROR_SHARING_VIOLATION, "ERROR_SHARING_VIOLATION"},
    {ERROR_LOCK_VIOLATION, "ERROR_LOCK_VIOLATION"},
    {ERROR_HANDLE_EOF, "ERROR_HANDLE_EOF"},
    {ERROR_HANDLE_DISK_FULL, "ERROR_HANDLE_DISK_FULL"},
    {ERROR_NOT_SUPPORTED, "ERROR_NOT_SUPPORTED"},
    {ERROR_FILE_EXISTS, "ERROR_FILE_EXISTS"},
    {ERROR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER"},
    {ERROR_DISK_FULL, "ERROR_DISK_FULL"},
    {ERROR_SEM_TIMEOUT, "ERROR_SEM_TIMEOUT"},
    {ERROR_INSUFFICIENT_BUFFER, "ERROR_INSUFFICIENT_BUFFER"},
    {ERROR_INVALID_NAME, "ERROR_INVALID_NAME"},
    {ERROR_BAD_PATHNAME, "ERROR_BAD_PATHNAME"},
    {ERROR_BUSY, "ERROR_BUSY"},
    {ERROR_ALREADY_EXISTS, "ERROR_ALREADY_EXISTS"},
    {ERROR_FILENAME_EXCED_RANGE, "ERROR_FILENAME_EXCED_RANGE"},
    {WAIT_TIMEOUT, "WAIT_TIMEOUT"},
    {ERROR_NOT_OWNER, "ERROR_NOT_OWNER"},
    {ERROR_INVALID_ADDRESS, "ERROR_INVALID_ADDRESS"},
    {ERROR_OPERATION_ABORTED, "ERROR_OPERATION_ABORTED"},
    {ERROR_NOACCESS, "ERROR_NOACCESS"},
    {ERROR_FILE_INVALID, "ERROR_FILE_INVALID"},
    {ERROR_MAPPED_ALIGNMENT, "ERROR_MAPPED_ALIGNMENT"},
    {ERROR_USER_MAPPED_FILE, "ERROR_USER_MAPPED_FILE"},
    {ERROR_PRIVILEGE_NOT_HELD, "ERROR_PRIVILEGE_NOT_HELD"},
    {ERROR_NO_SYSTEM_RESOURCES, "ERROR_NO_SYSTEM_RESOURCES"},
    {ERROR_COMMITMENT_LIMIT, "ERROR_COMMITMENT_LIMIT"},
    {ERROR_TIMEOUT, "ERROR_TIMEOUT"},
    {ERROR_INVALID_FLAGS, "ERROR_INVALID_FLAGS"},
};
}  // namespace

std::string ErrorName(DWORD err) {
  for (const Named& n : kNames) {
    if (n.code == err) return n.name;
  }
  return "WIN32_ERROR_" + std::to_string(err);
}

std::string ErrorText(DWORD err) {
  wchar_t* buf = nullptr;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                           nullptr, err, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US),
                           reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  if (n == 0 || buf == nullptr) {
    // No English text installed: retry in the user's language before giving up.
    n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                       nullptr, err, 0, reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  }
  std::string out;
  if (n != 0 && buf != nullptr) {
    while (n > 0 && (buf[n - 1] == L'\r' || buf[n - 1] == L'\n' || buf[n - 1] == L' ' || buf[n - 1] == L'.')) --n;
    int len = WideCharToMultiByte(CP_UTF8, 0, buf, static_cast<int>(n), nullptr, 0, nullptr, nullptr);
    out.resize(static_cast<size_t>(len));
    WideCharToMultiByte(CP_UTF8, 0, buf, static_cast<int>(n), &out[0], len, nullptr, nullptr);
  }
  if (buf != nullptr) LocalFree(buf);
  if (out.empty()) out = "Win32 error " + std::to_string(err);
  return out;
}

Napi::Error Error(Napi::Env env, DWORD err, const char* call, const std::string& target) {
  return SysErrorCode(env, static_cast<int>(err), ErrorName(err), ErrorText(err), call, target);
}

void Throw(Napi::Env env, DWORD err, const char* call, const std::string& target) {
  throw Error(env, err, call, target);
}

std::wstring Widen(const std::string& s) {
  if (s.empty()) return std::wstring();
  int len = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<size_t>(len), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), &w[0], len);
  return w;
}

DWORD TimeoutMs(double ms) {
  if (!(ms >= 0)) return INFINITE;
  double c = std::ceil(ms);
  if (c >= static_cast<double>(INFINITE - 1)) return INFINITE - 1;
  return static_cast<DWORD>(c);
}

}  // namespace win32
}  // namespace shm
