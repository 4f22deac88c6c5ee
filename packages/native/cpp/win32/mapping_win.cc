// Win32 file mappings: pagefile-backed (named or anonymous) and file-backed sections, mapped whole and exposed
// through shm::Mapping. Thread-safety: JS thread only; the UnmapFn may run on whichever thread drops the last ref.
#include "win32/win32_util.h"

#include <cstdint>
#include <string>

#include "common/errors.h"
#include "common/exports.h"
#include "common/mapping.h"

namespace shm {
namespace {

// SECTION_BASIC_INFORMATION from ntdll (stable since NT 3.1; Wine implements it). Gives a section's exact size,
// which VirtualQuery can only report rounded up to whole pages.
struct SectionBasicInformation {
  PVOID base;
  ULONG attributes;
  LARGE_INTEGER size;
};
using NtQuerySectionFn = LONG(NTAPI*)(HANDLE, int, PVOID, SIZE_T, PSIZE_T);

uint64_t SectionSize(HANDLE section, void* view) {
  static NtQuerySectionFn query = reinterpret_cast<NtQuerySectionFn>(
      reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "NtQuerySection")));
  if (query != nullptr) {
    SectionBasicInformation sbi = {};
    SIZE_T got = 0;
    if (query(section, 0 /* SectionBasicInformation */, &sbi, sizeof sbi, &got) >= 0 && sbi.size.QuadPart > 0) {
      return static_cast<uint64_t>(sbi.size.QuadPart);
    }
  }
  MEMORY_BASIC_INFORMATION mbi = {};
  if (VirtualQuery(view, &mbi, sizeof mbi) == 0) return 0;
  return mbi.RegionSize;
}

// Maps the whole section and hands both the view and the section handle to a Mapping, which unmaps the view and
// closes the handle exactly once. The handle is kept (not closed right after mapping) because a named section
// stays openable by name only while some process holds a handle to it.
Napi::Object Wrap(Napi::Env env, HANDLE section, size_t size_or_zero, const std::string& target) {
  void* view = MapViewOfFile(section, FILE_MAP_ALL_ACCESS, 0, 0, 0);
  if (view == nullptr) {
    DWORD err = GetLastError();
    CloseHandle(section);
    win32::Throw(env, err, "MapViewOfFile", target);
  }
  uint64_t actual = SectionSize(section, view);
  size_t size = size_or_zero != 0 ? size_or_zero : static_cast<size_t>(actual);
  UnmapFn unmap = [section](void* addr, size_t) {
    UnmapViewOfFile(addr);
    CloseHandle(section);
  };
  return Mapping::Create(env, view, size, unmap, "win32");
}

std::string Describe(const std::string& name, const std::string& path) {
  if (!path.empty()) return name.empty() ? path : name + " (file " + path + ")";
  return name.empty() ? "anonymous mapping" : name;
}

// win32CreateMapping(name, size, path, exclusive) -> { mapping, existed }
// name '' = anonymous; path '' = backed by the pagefile, else by that file (created if missing, grown to `size`;
// size 0 = the file's size). exclusive: fail with ERROR_ALREADY_EXISTS if the name (or the file) exists.
// A mapping that already existed keeps its own size: `mapping.size` is then that size (the caller compares).
Napi::Value CreateMapping(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "name");
  int64_t size = ArgInt64(info, 1, "size");
  std::string path = ArgString(info, 2, "path");
  bool exclusive = ArgBool(info, 3, "exclusive");
  if (size < 0 || (size == 0 && path.empty())) {
    throw Napi::RangeError::New(env, "Expected a positive size for a pagefile-backed mapping");
  }
  std::string target = Describe(name, path);
  std::wstring wname = win32::Widen(name);

  HANDLE file = INVALID_HANDLE_VALUE;
  bool file_existed = false;
  if (!path.empty()) {
    file = CreateFileW(win32::Widen(path).c_str(), GENERIC_READ | GENERIC_WRITE,
                       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                       exclusive ? CREATE_NEW : OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) win32::Throw(env, GetLastError(), "CreateFileW", path);
    file_existed = GetLastError() == ERROR_ALREADY_EXISTS;
  }
  uint64_t usize = static_cast<uint64_t>(size);
  HANDLE section = CreateFileMappingW(file, nullptr, PAGE_READWRITE, static_cast<DWORD>(usize >> 32),
                                      static_cast<DWORD>(usize & 0xffffffffu), wname.empty() ? nullptr : wname.c_str());
  DWORD err = GetLastError();
  if (file != INVALID_HANDLE_VALUE) CloseHandle(file);  // the section holds its own reference to the file
  if (section == nullptr) win32::Throw(env, err, "CreateFileMappingW", target);
  bool existed = err == ERROR_ALREADY_EXISTS;
  if (existed && exclusive) {
    CloseHandle(section);
    win32::Throw(env, ERROR_ALREADY_EXISTS, "CreateFileMappingW", target);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("mapping", Wrap(env, section, existed ? 0 : static_cast<size_t>(usize), target));
  out.Set("existed", Napi::Boolean::New(env, existed || file_existed));
  return out;
}

// win32OpenMapping(name) -> Mapping over the whole existing section (its exact size where ntdll reports it).
Napi::Value OpenMapping(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "name");
  HANDLE section = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, win32::Widen(name).c_str());
  if (section == nullptr) win32::Throw(env, GetLastError(), "OpenFileMappingW", name);
  return Wrap(env, section, 0, name);
}

}  // namespace

void InitWin32Mapping(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "win32CreateMapping", CreateMapping);
  Export(env, exports, "win32OpenMapping", OpenMapping);
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  Napi::Object c = Napi::Object::New(env);
  c.Set("PAGE_SIZE", Napi::Number::New(env, si.dwPageSize));
  c.Set("ALLOCATION_GRANULARITY", Napi::Number::New(env, si.dwAllocationGranularity));
  exports.Set("win32Constants", c);
}

}  // namespace shm
