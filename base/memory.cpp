// release_free_memory: jemalloc's purge when it is linked (found at run time), glibc's malloc_trim otherwise.
#include "base/memory.hpp"

#include <cstddef>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// jemalloc's control interface (jemalloc(3), "MALLCTL NAMESPACE"). Weak: null unless the executable links
// jemalloc, which libraries and tests do not.
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen)
    __attribute__((weak));

namespace clusterdns::base {

void release_free_memory() {
  if (mallctl != nullptr) {
    // MALLCTL_ARENAS_ALL (4096): every arena's dirty and muzzy pages, now rather than after their decay.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace clusterdns::base
