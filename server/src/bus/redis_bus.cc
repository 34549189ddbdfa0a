#include "bus/redis_bus.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <charconv>

#include "util/thread.h"

namespace agentlog::bus {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

constexpr size_t kMaxSessionsPerProject = 10000;

bool parse_int(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      const auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && end == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

Result<RedisAddress> parse_redis_url(const std::string& url) {
  std::string_view rest = url;
  if (rest.starts_with("rediss://")) {
    return Status::invalid_argument(
        "rediss:// (TLS) is not supported; use redis:// over a private network or a tunnel");
  }
  if (!rest.starts_with("redis://"))
    return Status::invalid_argument(fmt::format("not a redis:// URL: '{}'", url));
  rest.remove_prefix(8);
  RedisAddress a;
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      a.password = percent_decode(cred);  // redis://secret@host: the password alone
    } else {
      a.user = percent_decode(cred.substr(0, colon));
      a.password = percent_decode(cred.substr(colon + 1));
    }
  }
  std::string_view hostport = rest.substr(0, rest.find('/'));
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    db = db.substr(0, db.find('?'));
    int64_t n = 0;
    if (!db.empty() && (!parse_int(db, n) || n < 0 || n > 1000)) {
      return Status::invalid_argument(fmt::format("bad database number in redis URL '{}'", url));
    }
    a.db = static_cast<int>(n);
  }
  if (!hostport.empty() && hostport.front() == '[') {  // [::1]:6379
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos)
      return Status::invalid_argument(fmt::format("bad host in '{}'", url));
    a.host = std::string(hostport.substr(1, close - 1));
    hostport.remove_prefix(close + 1);
    if (!hostport.empty() && hostport.front() != ':')
      return Status::invalid_argument(fmt::format("bad host in '{}'", url));
  } else {
    const size_t colon = hostport.find(':');
    if (colon != 0) a.host = std::string(hostport.substr(0, colon));
    hostport = colon == std::string_view::npos ? std::string_view() : hostport.substr(colon);
  }
  if (!hostport.empty()) {
    int64_t port = 0;
    if (!parse_int(hostport.substr(1), port) || port < 1 || port > 65535) {
      return Status::invalid_argument(fmt::format("bad port in redis URL '{}'", url));
    }
    a.port = static_cast<int>(port);
  }
  if (a.host.empty()) a.host = "127.0.0.1";
  return a;
}

std::string encode_notice(const Committed& c) {
  const int64_t last = c.events.empty() ? 0 : c.events.back().seq;
  std::string out = fmt::format("1 {} {} {}\n", c.project_id, last, c.session_ids.size());
  for (const std::string& id : c.session_ids) {
    out += fmt::format("{}:", id.size());
    out += id;
  }
  return out;
}

Result<Notice> decode_notice(std::string_view msg) {
  auto bad = [] { return Status::invalid_argument("malformed commit notice"); };
  const size_t nl = msg.find('\n');
  if (nl == std::string_view::npos) return bad();
  std::string_view head = msg.substr(0, nl);
  std::string_view body = msg.substr(nl + 1);
  int64_t fields[4];
  for (int i = 0; i < 4; ++i) {
    const size_t sp = head.find(' ');
    const std::string_view f = head.substr(0, sp);
    if (!parse_int(f, fields[i])) return bad();
    head = sp == std::string_view::npos ? std::string_view() : head.substr(sp + 1);
    if (sp == std::string_view::npos && i < 3) return bad();
  }
  if (fields[0] != 1 || fields[3] < 0 || fields[3] > static_cast<int64_t>(body.size()))
    return bad();
  Notice n{fields[1], fields[2], {}};
  n.session_ids.reserve(static_cast<size_t>(fields[3]));
  for (int64_t i = 0; i < fields[3]; ++i) {
    const size_t colon = body.find(':');
    int64_t len = 0;
    if (colon == std::string_view::npos || !parse_int(body.substr(0, colon), len) || len < 0 ||
        static_cast<size_t>(len) > body.size() - colon - 1) {
      return bad();
    }
    n.session_ids.emplace_back(body.substr(colon + 1, static_cast<size_t>(len)));
    body.remove_prefix(colon + 1 + static_cast<size_t>(len));
  }
  if (!body.empty()) return bad();
  return n;
}

// ---- the bus -----------------------------------------------------------------------------

RedisBus::RedisBus(RedisOptions options, RedisAddress address, CommitLoader load, LastSeq last_seq)
    : options_(std::move(options)),
      address_(std::move(address)),
      load_(std::move(load)),
      last_seq_(std::move(last_seq)) {}

Result<std::unique_ptr<RedisBus>> RedisBus::open(RedisOptions options, CommitLoader load,
                                                 LastSeq last_seq) {
  auto address = parse_redis_url(options.url);
  if (!address.is_ok()) return address.status();
  std::unique_ptr<RedisBus> bus(
      new RedisBus(std::move(options), std::move(*address), std::move(load), std::move(last_seq)));
  auto probe = bus->connect();
  if (!probe.is_ok()) return probe.status();
  redisFree(*probe);
  bus->publisher_ = std::thread([b = bus.get()] {
    set_thread_name("al-redis-pub");
    b->run_publisher();
  });
  return bus;
}

RedisBus::~RedisBus() { stop(); }

Result<redisContext*> RedisBus::connect() const {
  const timeval timeout{3, 0};
  redisContext* c = redisConnectWithTimeout(address_.host.c_str(), address_.port, timeout);
  if (c == nullptr) return Status::unavailable("redis: out of memory");
  if (c->err) {
    std::string msg = c->errstr;
    redisFree(c);
    return Status::unavailable(
        fmt::format("cannot connect to Redis at {}:{}: {}", address_.host, address_.port, msg));
  }
  auto command = [&](std::vector<std::string> argv) -> Status {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data())));
    if (!r) return Status::unavailable(fmt::format("redis: {}", c->errstr));
    if (r->type == REDIS_REPLY_ERROR)
      return Status::unavailable(fmt::format("redis: {}", std::string(r->str, r->len)));
    return Status::ok();
  };
  Status s;
  if (!address_.password.empty()) {
    s = address_.user.empty() ? command({"AUTH", address_.password})
                              : command({"AUTH", address_.user, address_.password});
  }
  if (s.is_ok() && address_.db != 0) s = command({"SELECT", std::to_string(address_.db)});
  if (!s.is_ok()) {
    redisFree(c);
    return s;
  }
  return c;
}

void RedisBus::publish(std::shared_ptr<const Committed> c) {
  if (!c) return;
  std::string msg = encode_notice(*c);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    outbox_.push_back(std::move(msg));
    // Redis unreachable for long: the oldest notices go. Nothing is lost for good, every
    // replica still reads the commits at its next poll.
    while (outbox_.size() > options_.max_queued_messages) outbox_.pop_front();
  }
  publish_cv_.notify_one();
  // Local subscribers need not wait for the round trip through Redis.
  wake(c->project_id, c->session_ids);
}

void RedisBus::wake(int64_t project_id, const std::vector<std::string>& session_ids) {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
    auto& ids = pending_sessions_[project_id];
    for (const std::string& id : session_ids) {
      if (ids.size() >= kMaxSessionsPerProject) break;
      ids.insert(id);
    }
  }
  dispatch_cv_.notify_one();
}

void RedisBus::subscribe(Handler h) {
  std::lock_guard lock(mu_);
  handlers_.push_back(std::move(h));
  if (dispatcher_.joinable()) return;
  dispatcher_ = std::thread([this] {
    set_thread_name("al-redis-bus");
    run_dispatcher();
  });
  subscriber_ = std::thread([this] {
    set_thread_name("al-redis-sub");
    run_subscriber();
  });
}

void RedisBus::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (subscriber_fd_ >= 0)
      ::shutdown(subscriber_fd_, SHUT_RDWR);  // unblocks the subscriber's read
  }
  publish_cv_.notify_all();
  dispatch_cv_.notify_all();
  stop_cv_.notify_all();
  for (std::thread* t : {&publisher_, &subscriber_, &dispatcher_}) {
    if (t->joinable()) t->join();
  }
}

uint64_t RedisBus::notices_sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

uint64_t RedisBus::notices_received() const {
  std::lock_guard lock(mu_);
  return received_;
}

bool RedisBus::sleep_or_stop(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return stop_cv_.wait_for(lock, d, [this] { return stopping_; });
}

void RedisBus::run_publisher() {
  redisContext* c = nullptr;
  std::chrono::milliseconds backoff{100};
  for (;;) {
    std::vector<std::string> batch;
    {
      std::unique_lock lock(mu_);
      publish_cv_.wait(lock, [this] { return stopping_ || !outbox_.empty(); });
      if (stopping_) break;
      batch.assign(std::make_move_iterator(outbox_.begin()),
                   std::make_move_iterator(outbox_.end()));
      outbox_.clear();
    }
    if (c == nullptr) {
      auto r = connect();
      if (!r.is_ok()) {
        spdlog::warn("redis bus: {} (retrying)", r.status().message());
        {
          std::lock_guard lock(mu_);
          outbox_.insert(outbox_.begin(), std::make_move_iterator(batch.begin()),
                         std::make_move_iterator(batch.end()));
          while (outbox_.size() > options_.max_queued_messages) outbox_.pop_front();
        }
        if (sleep_or_stop(backoff)) break;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      c = *r;
      backoff = std::chrono::milliseconds(100);
    }
    // Pipelined: all PUBLISHes written, then all replies read.
    for (const std::string& m : batch) {
      redisAppendCommand(c, "PUBLISH %b %b", options_.channel.data(), options_.channel.size(),
                         m.data(), m.size());
    }
    bool ok = true;
    for (size_t i = 0; i < batch.size() && ok; ++i) {
      void* raw = nullptr;
      ok = redisGetReply(c, &raw) == REDIS_OK;
      Reply r(static_cast<redisReply*>(raw));
    }
    if (!ok) {
      spdlog::warn("redis bus: publish failed ({}); reconnecting", c->errstr);
      redisFree(c);
      c = nullptr;
      continue;  // these notices are lost; the other replicas' polls pick the commits up
    }
    std::lock_guard lock(mu_);
    sent_ += batch.size();
  }
  if (c) redisFree(c);
}

void RedisBus::run_subscriber() {
  std::chrono::milliseconds backoff{100};
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    auto r = connect();
    if (!r.is_ok()) {
      spdlog::warn("redis bus subscriber: {} (retrying)", r.status().message());
      if (sleep_or_stop(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    redisContext* c = *r;
    backoff = std::chrono::milliseconds(100);
    Reply sub(static_cast<redisReply*>(
        redisCommand(c, "SUBSCRIBE %b", options_.channel.data(), options_.channel.size())));
    if (!sub) {
      redisFree(c);
      continue;
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        redisFree(c);
        return;
      }
      subscriber_fd_ = c->fd;
      pending_ = true;  // notices may have been missed while disconnected: read the database
    }
    dispatch_cv_.notify_one();
    for (;;) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) break;
      Reply m(static_cast<redisReply*>(raw));
      if (!m || m->type != REDIS_REPLY_ARRAY || m->elements != 3 ||
          m->element[2]->type != REDIS_REPLY_STRING) {
        continue;
      }
      auto n = decode_notice(std::string_view(m->element[2]->str, m->element[2]->len));
      if (!n.is_ok()) {
        spdlog::warn("redis bus: ignoring a malformed notice on {}", options_.channel);
        continue;
      }
      {
        std::lock_guard lock(mu_);
        ++received_;
      }
      wake(n->project_id, n->session_ids);
    }
    bool stopping;
    {
      std::lock_guard lock(mu_);
      subscriber_fd_ = -1;
      stopping = stopping_;
    }
    if (!stopping)
      spdlog::warn("redis bus subscriber: connection lost ({}); reconnecting", c->errstr);
    redisFree(c);
  }
}

void RedisBus::run_dispatcher() {
  // Streams deliver what is committed from now on; catching up on older events is the
  // store's job (Last-Event-ID).
  int64_t cursor = -1;
  while (cursor < 0) {
    auto last = last_seq_();
    if (last.is_ok()) {
      cursor = *last;
    } else {
      spdlog::warn("redis bus: {}", last.status().message());
      if (sleep_or_stop(std::chrono::milliseconds(500))) return;
    }
  }
  for (;;) {
    std::map<int64_t, std::set<std::string>> sessions;
    std::vector<Handler> handlers;
    {
      std::unique_lock lock(mu_);
      dispatch_cv_.wait_for(lock, options_.poll_interval, [this] { return pending_ || stopping_; });
      if (stopping_) return;
      pending_ = false;
      sessions.swap(pending_sessions_);
      handlers = handlers_;
    }
    std::vector<std::shared_ptr<const Committed>> commits;
    for (;;) {
      auto events = load_(cursor, options_.load_batch);
      if (!events.is_ok()) {
        spdlog::warn("redis bus: reading commits: {}", events.status().message());
        break;
      }
      std::shared_ptr<Committed> cur;
      std::set<std::string> seen;
      for (LoadedEvent& le : *events) {
        if (!cur || cur->project_id != le.project_id) {
          if (cur) commits.push_back(std::move(cur));
          cur = std::make_shared<Committed>();
          cur->project_id = le.project_id;
          seen.clear();
        }
        if (seen.insert(le.event.event.session_id).second)
          cur->session_ids.push_back(le.event.event.session_id);
        sessions[le.project_id].erase(le.event.event.session_id);
        cursor = le.event.seq;
        cur->events.push_back(std::move(le.event));
      }
      if (cur) commits.push_back(std::move(cur));
      if (static_cast<int>(events->size()) < options_.load_batch) break;
      for (const Handler& h : handlers) h(commits, false);
      commits.clear();
    }
    // Sessions patched without events.
    for (auto& [project, ids] : sessions) {
      if (ids.empty()) continue;
      auto c = std::make_shared<Committed>();
      c->project_id = project;
      c->session_ids.assign(ids.begin(), ids.end());
      commits.push_back(std::move(c));
    }
    if (!commits.empty()) {
      for (const Handler& h : handlers) h(commits, false);
    }
  }
}

}  // namespace agentlog::bus
