// k8s_test_apiserver: runs TestApiServer on 127.0.0.1 until SIGINT/SIGTERM (tests start it by PID).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "tests/k8s_api/api_server.hpp"

using clusterdns::k8s_api::ServerConfig;
using clusterdns::k8s_api::TestApiServer;

namespace {

void usage() {
  std::fprintf(
      stderr,
      "usage: k8s_test_apiserver [--port N (0: any)] [--port-file FILE] [--token T]\n"
      "         [--tls-cert PEM --tls-key PEM [--client-ca PEM]] [--bookmark-interval-ms N] [--threads N]\n"
      "         [--crd serviceimports.multicluster.x-k8s.io]\n"
      "Serves /version, /api, /apis, list and watch of namespaces, services, pods, endpoints and\n"
      "discovery.k8s.io/v1 endpointslices, multicluster.x-k8s.io/v1alpha1 serviceimports while their\n"
      "CustomResourceDefinition is installed (--crd, or POST /test/crd), and the /test/* control API,\n"
      "on 127.0.0.1.\n");
}

}  // namespace

int main(int argc, char** argv) {
  ServerConfig config;
  int port = 0;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") {
      port = std::atoi(value().c_str());
    } else if (a == "--port-file") {
      port_file = value();
    } else if (a == "--token") {
      config.token = value();
    } else if (a == "--tls-cert") {
      config.tls_cert = value();
    } else if (a == "--tls-key") {
      config.tls_key = value();
    } else if (a == "--client-ca") {
      config.client_ca = value();
    } else if (a == "--bookmark-interval-ms") {
      config.bookmark_interval_ms = std::atoi(value().c_str());
    } else if (a == "--crd") {
      config.crds.push_back(value());
    } else if (a == "--threads") {
      config.threads = std::atoi(value().c_str());
    } else {
      usage();
      return 2;
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  TestApiServer server(config);
  int bound = server.bind("127.0.0.1", port);
  if (bound <= 0) {
    std::fprintf(stderr, "k8s_test_apiserver: cannot bind 127.0.0.1:%d\n", port);
    return 1;
  }
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << bound << "\n";
    std::rename(tmp.c_str(), port_file.c_str());  // readers never see a half-written file
  }
  std::printf("k8s_test_apiserver listening on %s://127.0.0.1:%d\n",
              config.tls_cert.empty() ? "http" : "https", bound);
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.stop();
  });
  server.listen();
  if (waiter.joinable()) {
    pthread_kill(waiter.native_handle(), SIGTERM);  // when listen ended by itself
    waiter.join();
  }
  return 0;
}
