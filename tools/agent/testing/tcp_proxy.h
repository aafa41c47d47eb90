// TcpProxy: a test-only TCP forwarder on 127.0.0.1 used to cut the network between the agent
// and ingest deterministically: destroying it refuses new connections and resets the open ones;
// starting a new one on the same port ends the outage.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace k8i::agent::testing {

class TcpProxy {
 public:
  // Start listens on 127.0.0.1:`port` (0 = any free port) and forwards each connection to
  // 127.0.0.1:`target_port`.
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(int target_port, int port = 0);
  // Closes the listener and every forwarded connection, and joins all threads.
  ~TcpProxy();
  int port() const { return port_; }

 private:
  TcpProxy(int listen_fd, int port, int target_port)
      : listen_fd_(listen_fd), port_(port), target_port_(target_port) {}
  void AcceptLoop();
  void Pump(int a, int b);

  const int listen_fd_;
  const int port_;
  const int target_port_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::set<int> fds_;
  std::vector<std::thread> pumps_;
};

}  // namespace k8i::agent::testing
