#include "http/server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "api/render.h"
#include "util/compress.h"
#include "util/thread.h"

namespace agentlog::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kSmallBody = 8 * 1024;
constexpr size_t kBodyReadSize = 64 * 1024;  // the most Beast asks for in one read

// Resumes the calling coroutine with the handler's response, whichever thread produces
// it (an io thread, a query worker, or the pipeline writer after commit).
template <typename Token>
auto async_handle(api::Api& api, api::Request req, Token&& token) {
  return asio::async_initiate<Token, void(api::Response)>(
      [&api](auto handler, api::Request request) {
        using Handler = decltype(handler);
        struct State {
          Handler handler;
          asio::executor_work_guard<asio::associated_executor_t<Handler>> work;
        };
        auto ex = asio::get_associated_executor(handler);
        auto state = std::make_shared<State>(State{std::move(handler), asio::make_work_guard(ex)});
        api.handle(std::move(request), [state](api::Response r) {
          auto ex2 = state->work.get_executor();
          asio::post(ex2, [state, r = std::move(r)]() mutable { std::move(state->handler)(std::move(r)); });
        });
      },
      token, std::move(req));
}

bhttp::response<bhttp::string_body> to_beast(api::Response r, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  if (!r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res.insert(k, v);  // insert: Set-Cookie may repeat
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  asio::io_context ioc;
  asio::thread_pool blocking;
  tcp::acceptor acceptor{ioc};
  std::atomic<int> in_flight{0};
  std::atomic<bool> draining{false};

  explicit Impl(ServerOptions o)
      : options(std::move(o)), ioc(options.threads), blocking(static_cast<size_t>(options.blocking_threads)) {}

  // Responses are taken by reference: gcc 12 miscompiles coroutine parameters of
  // non-trivial class type passed by value (double destruction).
  awaitable<void> send(beast::tcp_stream& stream, api::Response&& r, unsigned version, bool keep_alive,
                       bool head_only = false) {
    auto res = to_beast(std::move(r), version, keep_alive);
    stream.expires_after(options.request_timeout);
    if (head_only) {
      // HEAD: the GET's headers (Content-Length included), no body.
      bhttp::response_serializer<bhttp::string_body> sr(res);
      co_await bhttp::async_write_header(stream, sr, kNoThrow);
    } else {
      co_await bhttp::async_write(stream, res, kNoThrow);
    }
  }

  // Writes a streamed body (Server-Sent Events) until it ends, the client goes away or a
  // write stalls. The connection is not reused afterwards.
  awaitable<void> send_stream(beast::tcp_stream& stream, api::Response& r) {
    using Wake = asio::experimental::concurrent_channel<void(beast::error_code)>;
    std::shared_ptr<api::BodyStream> body = std::move(r.stream);
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(r.status), 11};
    head.set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) head.insert(k, v);
    head.keep_alive(false);  // the body ends when the connection closes
    stream.expires_after(options.request_timeout);
    auto [hec, hn] = co_await bhttp::async_write(stream, head, kNoThrow);
    if (hec) {
      body->close();
      co_return;
    }
    // Capacity 1: any number of wake-ups while we write collapse into one.
    auto wake = std::make_shared<Wake>(stream.get_executor(), 1);
    body->start([wake] { wake->try_send(beast::error_code{}); });
    asio::steady_timer idle(stream.get_executor());
    std::string out;
    bool idle_now = false;
    for (;;) {
      out.clear();
      const bool more = body->take(out, idle_now);
      if (!out.empty()) {
        stream.expires_after(options.request_timeout);
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(out), kNoThrow);
        if (wec) break;
      }
      if (!more) break;
      idle.expires_after(options.stream_heartbeat);
      auto result = co_await (wake->async_receive(kNoThrow) || idle.async_wait(kNoThrow));
      idle_now = result.index() == 1;
    }
    body->close();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Refuses a request without reading its body; lets the client finish sending a bounded
  // amount so it sees the answer instead of a reset.
  awaitable<void> refuse(beast::tcp_stream& stream, beast::flat_buffer& buf, api::Response&& r) {
    co_await send(stream, std::move(r), 11, false);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::chrono::seconds(2));
    size_t discarded = 0;
    while (discarded < (4u << 20)) {
      buf.consume(buf.size());
      auto [rec, n] = co_await stream.async_read_some(buf.prepare(64 * 1024), kNoThrow);
      if (rec) break;
      discarded += n;
    }
  }

  awaitable<void> session(tcp::socket socket, api::Api& api) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buf;
    std::string remote;
    {
      beast::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
      // No limit while reading the header so a too-large Content-Length is refused
      // below with the request's target; the limit applies to the body (also chunked).
      parser.body_limit(boost::none);
      stream.expires_after(options.request_timeout);
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buf, parser, kNoThrow);
      if (hec == bhttp::error::header_limit) {
        co_await refuse(stream, buf, api::problem(431, "headers-too-large", "request headers exceed 16 KiB", ""));
        co_return;
      }
      if (hec) {
        if (hec != bhttp::error::end_of_stream && hec != beast::error::timeout && hec != asio::error::eof &&
            hec != asio::error::connection_reset && hn > 0) {
          co_await refuse(stream, buf, api::problem(400, "bad-request", "malformed HTTP request", ""));
        }
        co_return;
      }
      const auto& head = parser.get();
      const std::string target(head.target());
      if (auto cl = parser.content_length(); cl && *cl > options.max_body_bytes) {
        co_await refuse(stream, buf,
                        api::problem(413, "payload-too-large",
                                     "the body exceeds max_body_bytes (" + std::to_string(options.max_body_bytes) +
                                         " bytes)",
                                     target));
        co_return;
      }
      parser.body_limit(options.max_body_bytes);
      if (beast::iequals(head[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        co_await bhttp::async_write(stream, cont, kNoThrow);
      }
      // Beast reads at most the buffer's free capacity per call (512 bytes minimum): with a
      // header-sized buffer a 500 KB body took ~1000 reads, each re-arming the timeout.
      // Large bodies get room for 64 KiB reads; the buffer shrinks back after the request.
      if (const auto cl = parser.content_length(); !cl || *cl > kSmallBody) buf.reserve(kBodyReadSize);
      auto [bec, bn] = co_await bhttp::async_read(stream, buf, parser, kNoThrow);
      if (bec == bhttp::error::body_limit) {
        co_await refuse(stream, buf, api::problem(413, "payload-too-large", "the body exceeds max_body_bytes", target));
        co_return;
      }
      if (bec) {
        if (bec != beast::error::timeout && bec != asio::error::eof && bec != asio::error::connection_reset &&
            bec != bhttp::error::partial_message) {
          co_await refuse(stream, buf, api::problem(400, "bad-request", "malformed HTTP request", target));
        }
        co_return;
      }
      stream.expires_never();
      ++in_flight;
      auto& msg = parser.get();
      const bool keep_alive = msg.keep_alive() && !draining.load();
      const unsigned version = msg.version();
      const bool req_is_head = msg.method() == bhttp::verb::head;
      api::Request req;
      req.method = std::string(msg.method_string());
      req.target = target;
      req.authorization = std::string(msg[bhttp::field::authorization]);
      req.api_key = std::string(msg["X-API-Key"]);
      if (req.api_key.empty() && !options.api_key_header.empty()) {
        req.api_key = std::string(msg[options.api_key_header]);
      }
      req.content_type = std::string(msg[bhttp::field::content_type]);
      req.cookie = std::string(msg[bhttp::field::cookie]);
      req.csrf_token = std::string(msg["X-CSRF-Token"]);
      req.last_event_id = std::string(msg["Last-Event-ID"]);
      req.accept_encoding = std::string(msg[bhttp::field::accept_encoding]);
      req.if_none_match = std::string(msg[bhttp::field::if_none_match]);
      req.tls = beast::iequals(msg["X-Forwarded-Proto"], "https");
      req.remote = remote;
      const std::string_view encoding = msg[bhttp::field::content_encoding];
      std::optional<api::Response> early;
      if (encoding.empty() || beast::iequals(encoding, "identity")) {
        req.body = std::move(msg.body());
      } else if (beast::iequals(encoding, "gzip") || beast::iequals(encoding, "x-gzip") ||
                 beast::iequals(encoding, "deflate")) {
        auto inflated = inflate_bounded(msg.body(), options.max_decompressed_bytes);
        if (inflated.outcome == InflateResult::Outcome::kTooLarge) {
          early = api::problem(413, "payload-too-large",
                               "the decompressed body exceeds max_decompressed_bytes (" +
                                   std::to_string(options.max_decompressed_bytes) + " bytes)",
                               target);
        } else if (inflated.outcome == InflateResult::Outcome::kCorrupt) {
          early = api::problem(415, "unsupported-media-type", "the body is not valid " + std::string(encoding) + " data",
                               target);
        } else {
          req.body = std::move(inflated.data);
        }
      } else {
        early = api::problem(415, "unsupported-media-type",
                             "Content-Encoding must be gzip, deflate or identity, not '" + std::string(encoding) + "'",
                             target);
      }
      msg.body().clear();
      msg.body().shrink_to_fit();
      // (no co_await inside ?: — gcc 12 mishandles temporaries there)
      api::Response res;
      if (early) {
        res = std::move(*early);
      } else {
        res = co_await async_handle(api, std::move(req), asio::use_awaitable);
      }
      if (res.stream) {
        --in_flight;  // a stream lasts until it ends; it must not hold up a drain
        co_await send_stream(stream, res);
        co_return;
      }
      co_await send(stream, std::move(res), version, keep_alive, req_is_head);
      --in_flight;
      if (buf.size() == 0) buf.shrink_to_fit();  // an idle keep-alive connection holds no read buffer
      if (!keep_alive) break;
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  awaitable<void> accept_loop(api::Api& api) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        spdlog::warn("accept failed: {}", ec.message());
        continue;
      }
      socket.set_option(tcp::no_delay(true));
      asio::co_spawn(ioc, session(std::move(socket), api), asio::detached);
    }
  }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() {
  impl_->blocking.join();
}

api::Offload Server::offload() {
  return [this](std::function<void()> fn) { asio::post(impl_->blocking, std::move(fn)); };
}

Result<std::string> Server::bind() {
  beast::error_code ec;
  const auto addr = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return Status::invalid_argument("invalid listen address '" + impl_->options.host + "'");
  const tcp::endpoint ep(addr, impl_->options.port);
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::unavailable("cannot listen on " + impl_->options.host + ":" +
                               std::to_string(impl_->options.port) + ": " + ec.message());
  }
  const auto local = acc.local_endpoint();
  const std::string host = local.address().is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string();
  return host + ":" + std::to_string(local.port());
}

void Server::run(api::Api& api, pipeline::Pipeline& pipeline, std::function<void()> stop_others) {
  Impl& im = *impl_;
  asio::signal_set signals(im.ioc, SIGTERM, SIGINT);
  std::thread drainer;
  signals.async_wait([&](const beast::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("received signal {}; draining", sig);
    im.draining = true;
    api.set_draining();
    beast::error_code ignored;
    im.acceptor.close(ignored);
    // Draining blocks (it waits for the last commit), so it runs off the io threads;
    // responses of in-flight requests still flow through the io threads meanwhile.
    drainer = std::thread([&] {
      if (stop_others) stop_others();
      pipeline.drain();
      for (int i = 0; i < 1000 && im.in_flight.load() > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      im.ioc.stop();
    });
  });
  asio::co_spawn(im.ioc, im.accept_loop(api), asio::detached);
  std::vector<std::thread> threads;
  for (int i = 1; i < im.options.threads; ++i) {
    threads.emplace_back([&] {
      set_thread_name("al-io");
      im.ioc.run();
    });
  }
  im.ioc.run();
  for (auto& t : threads) t.join();
  if (drainer.joinable()) drainer.join();
  im.blocking.join();
  spdlog::info("stopped");
}

}  // namespace agentlog::http
