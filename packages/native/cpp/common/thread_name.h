// Names the calling thread so that ps -L, top -H, gdb and /proc/<pid>/task/<tid>/comm tell the addon's threads
// apart from Node's own (the tests count the waiter's sleeping threads by name). POSIX only; at most 15 characters.
#pragma once
#include <pthread.h>

namespace shm {

inline void NameThisThread(const char* name) {
#if defined(__APPLE__)
  pthread_setname_np(name);
#elif defined(__linux__)
  pthread_setname_np(pthread_self(), name);
#else
  (void)name;
#endif
}

}  // namespace shm
