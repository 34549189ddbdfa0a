// Plain request/response values exchanged between the socket layer and the handlers,
// so handlers are testable without sockets.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace agentlog::api {

struct Request {
  std::string method;          // "GET", "POST", ...
  std::string target;          // path and query, as received
  std::string authorization;   // header values ("" when absent)
  std::string api_key;
  std::string content_type;
  std::string cookie;
  std::string csrf_token;      // X-CSRF-Token
  std::string last_event_id;   // Last-Event-ID (SSE reconnects)
  std::string accept_encoding;
  std::string if_none_match;
  bool tls = false;            // X-Forwarded-Proto: https (TLS ends at a proxy in front of us)
  std::string body;            // already decompressed
  std::string remote;          // peer address, for logs
};

// A body produced over time (Server-Sent Events). The socket layer sends the head, then
// writes whatever take() yields each time it is woken, until take() reports the end.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Called once, first. `wake` may be called from any thread, any number of times.
  virtual void start(std::function<void()> wake) = 0;
  // Moves what is ready into `out`; when `idle` (nothing was written for a while) and
  // nothing is ready, yields a keep-alive instead. False once the stream has ended.
  virtual bool take(std::string& out, bool idle) = 0;
  // The connection is gone; releases the stream's resources. Idempotent.
  virtual void close() = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string route;  // the matched route template, for metrics and logs
  std::shared_ptr<BodyStream> stream;  // when set, the body follows the head over time
};

using Respond = std::function<void(Response)>;
// Runs blocking work (database queries) off the io threads.
using Offload = std::function<void(std::function<void()>)>;

}  // namespace agentlog::api
