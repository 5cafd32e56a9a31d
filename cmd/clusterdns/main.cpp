// build/clusterdns: process set-up, then the Application (cmd/clusterdns/app.hpp) serves until a signal.
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <exception>

#include "base/log.hpp"
#include "cmd/clusterdns/app.hpp"
#include "ops/runtime/lifecycle.hpp"
#include "ops/runtime/logging.hpp"

// jemalloc's options when it serves malloc (jemalloc(3), "TUNING"; ignored under glibc's malloc): a
// background thread gives back the pages freed by a build once they have been unused for a second, so
// bursts of changes reuse them and a quiet server does not keep them.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf =
    "background_thread:true,max_background_threads:1,dirty_decay_ms:1000,muzzy_decay_ms:0";
}

int main(int argc, char** argv) {
  using namespace clusterdns;
  // A peer that hangs up mid-write (an HTTP scrape, a registry connection's TLS close_notify) must be an
  // error on that connection, not the end of the process.
  signal(SIGPIPE, SIG_IGN);
  // Changes come in bursts (a rollout, a relist): keep what a build frees for the next one instead of
  // returning it to the kernel (trim, munmap) and faulting it back in; the rebuilder trims once the registry
  // is quiet (zones::Rebuilder::run).
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
  // SIGINT, SIGTERM and SIGHUP are read from a signalfd on this thread (ops::Lifecycle); every thread started
  // later inherits the mask.
  const sigset_t signals = ops::Lifecycle::handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int status = 0;
  try {
    Application app(argc, argv);
    status = app.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clusterdns: %s\n", e.what());
    return 1;
  }
  base::logger("main")->info("stopped");
  return status;
}
