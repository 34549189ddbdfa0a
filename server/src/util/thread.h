// Per-thread settings: names (shown by top -H, perf and gdb; at most 15 characters) and
// CPU priority.
#pragma once

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

namespace agentlog {

inline void set_thread_name(const char* name) { pthread_setname_np(pthread_self(), name); }

// Lowers the calling thread's CPU priority (Linux applies nice per thread). Best effort.
inline void set_thread_nice(int nice) { (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice); }

}  // namespace agentlog
