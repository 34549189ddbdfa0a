// The live stream (GET /v1/stream): Server-Sent Events of committed events and session
// changes. One hub subscribes to the bus and renders each event once for all clients;
// each client has a bounded buffer, and a client that lets it fill is disconnected
// rather than slowing anything down (its EventSource reconnects with Last-Event-ID and
// catches up from the store).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "bus/bus.h"
#include "model/types.h"
#include "store/store.h"

namespace agentlog::api {

struct StreamFilter {
  int64_t project_id = 0;
  std::optional<std::string> session_id, agent;
  std::optional<model::EventType> type;
  bool events = true, sessions = true;
};

struct StreamLimits {
  size_t max_client_bytes = 8u << 20;  // buffered per client before it is dropped
  int max_catch_up = 10000;            // events replayed after a reconnect before giving up ("reset")
};

class StreamHub {
 public:
  StreamHub(store::Store& store, bus::Bus& bus, StreamLimits limits = {});
  ~StreamHub();

  // Opens a stream. With `after_seq` it first replays what was committed since (the
  // store query runs on the calling thread, so call it off the io threads).
  Result<std::shared_ptr<BodyStream>> open(const StreamFilter& filter, std::optional<int64_t> after_seq);
  // Ends every stream (the server is stopping).
  void close_all();

  size_t clients() const;
  uint64_t dropped_clients() const;

  class Client;

 private:
  void on_commits(const std::vector<std::shared_ptr<const bus::Committed>>& commits, bool missed);

  store::Store& store_;
  const StreamLimits limits_;
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<Client>> clients_;
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

}  // namespace agentlog::api
