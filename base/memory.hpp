// Giving freed heap memory back to the kernel, whichever allocator the executable links.
#pragma once

namespace clusterdns::base {

// Returns the pages malloc holds free to the kernel: jemalloc's arenas purged when build/clusterdns links
// jemalloc (it does unless sanitizers are on), glibc's heap trimmed otherwise (tests, ASan builds).
void release_free_memory();

}  // namespace clusterdns::base
