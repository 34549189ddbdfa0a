// Plain request/response values exchanged between the socket layer and the handlers,
// so handlers are testable without sockets.
#pragma once

#include <functional>
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
  std::string body;            // already decompressed
  std::string remote;          // peer address, for logs
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string route;  // the matched route template, for metrics and logs
};

using Respond = std::function<void(Response)>;
// Runs blocking work (database queries) off the io threads.
using Offload = std::function<void(std::function<void()>)>;

}  // namespace agentlog::api
