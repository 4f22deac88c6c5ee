// Win32 helpers shared by the Windows backend: error names and messages, UTF-8 to UTF-16 names, timeouts.
// Thread-safety: the conversion and naming functions are pure; the Throw/Error builders run on the JS thread only.
#pragma once
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <napi.h>

#include <string>

namespace shm {
namespace win32 {

// "ERROR_FILE_NOT_FOUND" for 2, ... ; "WIN32_ERROR_<n>" for numbers not in our table.
std::string ErrorName(DWORD err);
// The system's text for `err` (FormatMessageW, UTF-8, no trailing newline), or "Win32 error <n>".
std::string ErrorText(DWORD err);
// A ShmSystemError whose code is ErrorName(err), errno is err, and target names the object.
Napi::Error Error(Napi::Env env, DWORD err, const char* call, const std::string& target);
[[noreturn]] void Throw(Napi::Env env, DWORD err, const char* call, const std::string& target);

// UTF-8 -> UTF-16 for object names and paths. An empty string stays empty (callers pass nullptr for "no name").
std::wstring Widen(const std::string& s);
// Milliseconds as accepted by WaitFor*: negative = INFINITE, fractions rounded up, capped below INFINITE.
DWORD TimeoutMs(double ms);

}  // namespace win32
}  // namespace shm
