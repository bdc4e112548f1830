// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it (Linux keeps 15 characters).
#ifndef SPACEHOOK_CORE_THREAD_NAME_HPP
#define SPACEHOOK_CORE_THREAD_NAME_HPP

#include <pthread.h>

namespace spacehook {

inline void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace spacehook

#endif
