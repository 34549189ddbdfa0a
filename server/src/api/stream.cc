#include "api/stream.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_set>
#include <utility>

#include "api/render.h"
#include "util/json_writer.h"

namespace agentlog::api {

namespace {

std::string event_message(const model::StoredEvent& e) {
  std::string json;
  JsonWriter w(json);
  write_event(w, e);
  return fmt::format("id: {}\nevent: event\ndata: {}\n\n", e.seq, json);
}

std::string session_message(const model::Session& s) {
  std::string json;
  JsonWriter w(json);
  write_session(w, s);
  return fmt::format("event: session\ndata: {}\n\n", json);
}

bool wants_event(const StreamFilter& f, int64_t project, const model::Event& e) {
  return f.events && f.project_id == project && (!f.session_id || *f.session_id == e.session_id) &&
         (!f.agent || (e.agent && *f.agent == *e.agent)) && (!f.type || *f.type == e.type);
}

bool wants_session(const StreamFilter& f, int64_t project, const model::Session& s) {
  return f.sessions && f.project_id == project && (!f.session_id || *f.session_id == s.id) &&
         (!f.agent || (s.agent && *f.agent == *s.agent));
}

// Reading every touched session is the hub's main cost under heavy ingest; a delivery
// reads each session once however many commits touched it, and at most this many.
constexpr size_t kMaxSessionsPerDelivery = 2000;

}  // namespace

class StreamHub::Client final : public BodyStream {
 public:
  Client(StreamFilter f, size_t max_bytes) : filter(std::move(f)), max_bytes_(max_bytes) {
    buf_ = "retry: 1000\n: connected\n\n";
  }

  void start(std::function<void()> wake) override {
    bool ready;
    {
      std::lock_guard lock(mu_);
      wake_ = std::move(wake);
      ready = !buf_.empty() || ended_;
    }
    if (ready) wake_();
  }

  bool take(std::string& out, bool idle) override {
    std::lock_guard lock(mu_);
    if (catching_up_) return !ended_;  // the catch-up goes out first, all at once
    if (buf_.empty() && idle && !ended_) buf_ = ": ping\n\n";
    out += buf_;
    buf_.clear();
    return !ended_;
  }

  void close() override { end(); }

  // Appends a live message; returns false if that overflowed the buffer (the client is
  // then ended). `seq` is the event's sequence number, 0 for session messages.
  bool push(const std::string& msg, int64_t seq) {
    std::function<void()> wake;
    bool overflow = false;
    {
      std::lock_guard lock(mu_);
      if (ended_) return true;
      // Events reach the hub in seq order, so anything at or below the high-water mark was
      // sent already (the replay of a reconnect can overtake commits still on the bus).
      if (seq != 0 && seq <= sent_seq_) return true;
      if (catching_up_) {
        pending_.emplace_back(seq, msg);
        pending_bytes_ += msg.size();
        overflow = pending_bytes_ > max_bytes_;
      } else {
        if (seq != 0) sent_seq_ = seq;
        buf_ += msg;
        overflow = buf_.size() > max_bytes_;
      }
      if (overflow) {
        ended_ = true;
        buf_.clear();
        pending_.clear();
      }
      wake = wake_;
    }
    if (wake) wake();
    return !overflow;
  }

  void begin_catch_up() {
    std::lock_guard lock(mu_);
    catching_up_ = true;
  }

  // Sends `replay` and then the live messages that arrived meanwhile and are newer than
  // `upto` (the last replayed sequence number; 0 when nothing was replayed).
  void end_catch_up(std::string replay, int64_t upto) {
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      buf_ += replay;
      sent_seq_ = std::max(sent_seq_, upto);
      for (auto& [seq, msg] : pending_) {
        if (seq != 0 && seq <= sent_seq_) continue;
        if (seq != 0) sent_seq_ = seq;
        buf_ += msg;
      }
      pending_.clear();
      catching_up_ = false;
      wake = wake_;
    }
    if (wake) wake();
  }

  void end() {
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      if (ended_) return;
      ended_ = true;
      wake = wake_;
    }
    if (wake) wake();
  }

  bool ended() const {
    std::lock_guard lock(mu_);
    return ended_;
  }

  const StreamFilter filter;

 private:
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::function<void()> wake_;
  std::string buf_;
  bool ended_ = false, catching_up_ = false;
  int64_t sent_seq_ = 0;  // highest event seq sent
  std::vector<std::pair<int64_t, std::string>> pending_;
  size_t pending_bytes_ = 0;
};

StreamHub::StreamHub(store::Store& store, bus::Bus& bus, StreamLimits limits) : store_(store), limits_(limits) {
  bus.subscribe([this](const auto& commits, bool missed) { on_commits(commits, missed); });
}

StreamHub::~StreamHub() { close_all(); }

Result<std::shared_ptr<BodyStream>> StreamHub::open(const StreamFilter& filter, std::optional<int64_t> after_seq) {
  auto client = std::make_shared<Client>(filter, limits_.max_client_bytes);
  if (after_seq) client->begin_catch_up();
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::unavailable("the server is shutting down");
    clients_.push_back(client);
  }
  if (!after_seq) return std::shared_ptr<BodyStream>(client);

  // Registered first, so nothing committed from here on is missed; the replay then
  // covers everything up to now, and end_catch_up drops live duplicates of it.
  model::EventQuery q;
  q.project_id = filter.project_id;
  q.session_id = filter.session_id;
  q.agent = filter.agent;
  q.type = filter.type;
  q.limit = limits_.max_catch_up + 1;
  std::string replay;
  int64_t upto = *after_seq;
  if (filter.events) {
    auto events = store_.events_after(q, *after_seq);
    if (!events.is_ok()) {
      client->end();
      return events.status();
    }
    if (static_cast<int>(events->size()) > limits_.max_catch_up) {
      replay = fmt::format("event: reset\ndata: {{\"reason\":\"more than {} events were committed since event {}; "
                           "reload\"}}\n\n",
                           limits_.max_catch_up, *after_seq);
      upto = 0;  // no replay: what arrives from now on follows the reset
    } else {
      std::vector<std::string> touched;
      std::unordered_set<std::string> seen;
      for (const model::StoredEvent& e : *events) {
        replay += event_message(e);
        upto = e.seq;
        if (filter.sessions && seen.insert(e.event.session_id).second) touched.push_back(e.event.session_id);
      }
      for (const std::string& id : touched) {
        auto s = store_.get_session(filter.project_id, id);
        if (s.is_ok() && wants_session(filter, filter.project_id, *s)) replay += session_message(*s);
      }
    }
  }
  client->end_catch_up(std::move(replay), upto);
  return std::shared_ptr<BodyStream>(client);
}

void StreamHub::close_all() {
  std::vector<std::shared_ptr<Client>> live;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto& w : clients_) {
      if (auto c = w.lock()) live.push_back(std::move(c));
    }
    clients_.clear();
  }
  for (auto& c : live) c->end();
}

size_t StreamHub::clients() const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::count_if(clients_.begin(), clients_.end(), [](const auto& w) {
    auto c = w.lock();
    return c && !c->ended();
  }));
}

uint64_t StreamHub::dropped_clients() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void StreamHub::on_commits(const std::vector<std::shared_ptr<const bus::Committed>>& commits, bool missed) {
  std::vector<std::shared_ptr<Client>> live;
  {
    std::lock_guard lock(mu_);
    std::erase_if(clients_, [&](const std::weak_ptr<Client>& w) {
      auto c = w.lock();
      if (!c || c->ended()) return true;
      live.push_back(std::move(c));
      return false;
    });
  }
  if (live.empty()) return;
  if (missed) {
    // Commits were dropped before reaching us: every client reconnects and catches up.
    for (auto& c : live) c->end();
    return;
  }
  uint64_t dropped = 0;
  auto deliver = [&](const std::string& msg, int64_t seq, auto&& wants) {
    for (auto& c : live) {
      if (wants(c->filter) && !c->push(msg, seq)) ++dropped;
    }
  };

  std::set<std::pair<int64_t, std::string>> sessions;  // touched (project, session), in a stable order
  for (const auto& commit : commits) {
    for (const model::StoredEvent& e : commit->events) {
      const bool any = std::any_of(live.begin(), live.end(),
                                   [&](const auto& c) { return wants_event(c->filter, commit->project_id, e.event); });
      if (!any) continue;
      deliver(event_message(e), e.seq, [&](const StreamFilter& f) { return wants_event(f, commit->project_id, e.event); });
    }
    for (const std::string& id : commit->session_ids) {
      if (sessions.size() < kMaxSessionsPerDelivery) sessions.emplace(commit->project_id, id);
    }
  }
  const bool any_sessions = std::any_of(live.begin(), live.end(), [](const auto& c) { return c->filter.sessions; });
  if (any_sessions) {
    for (const auto& touched : sessions) {
      // Named copies, not structured bindings: lambdas capture them (clang 14 refuses bindings).
      const int64_t project = touched.first;
      const std::string& id = touched.second;
      const bool any = std::any_of(live.begin(), live.end(), [&](const auto& c) {
        const StreamFilter& f = c->filter;
        return f.sessions && f.project_id == project && (!f.session_id || *f.session_id == id);
      });
      if (!any) continue;
      auto s = store_.get_session(project, id);
      if (!s.is_ok()) continue;  // deleted meanwhile
      deliver(session_message(*s), 0, [&](const StreamFilter& f) { return wants_session(f, project, *s); });
    }
  }
  if (dropped) {
    std::lock_guard lock(mu_);
    dropped_ += dropped;
  }
}

}  // namespace agentlog::api
