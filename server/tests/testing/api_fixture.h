// An Api over a real SqliteStore and Pipeline in a temp dir, called without sockets:
// the fixture the API tests (native and OTLP) share.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "api/api.h"
#include "testing/fake_clock.h"
#include "testing/sqlite_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"
#include "util/crypto.h"
#include "util/ids.h"

namespace agentlog::test {

// A request's response; every handler must respond exactly once.
class ResponseSlot {
 public:
  api::Respond respond() {
    return [state = state_](api::Response r) {
      std::lock_guard lock(state->mu);
      ++state->calls;
      state->response = std::move(r);
      state->cv.notify_all();
    };
  }
  bool wait(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(state_->mu);
    return state_->cv.wait_for(lock, timeout, [&] { return state_->calls > 0; });
  }
  bool ready() {
    std::lock_guard lock(state_->mu);
    return state_->calls > 0;
  }
  int calls() {
    std::lock_guard lock(state_->mu);
    return state_->calls;
  }
  api::Response response() {
    std::lock_guard lock(state_->mu);
    return state_->response;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;
    api::Response response;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

inline api::Request api_request(std::string method, std::string target, std::string_view key, std::string body,
                                std::string content_type) {
  api::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.authorization = "Bearer " + std::string(key);
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

inline std::string header(const api::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_sqlite_store(dir_.path());
    ASSERT_NE(store_, nullptr);
    auto p = store_->find_project("default");
    ASSERT_TRUE(IsOk(p));
    project_ = p->id;
    pipeline_ = std::make_unique<pipeline::Pipeline>(*store_, nullptr, pipeline::Limits{}, metrics_, clock_);
    pipeline_->start();
    api_ = make_api(*pipeline_);
  }
  void TearDown() override {
    api_.reset();
    if (pipeline_) pipeline_->drain();
  }

  int64_t add_key(int64_t project_id, std::string_view secret) {
    auto k = store_->create_key(project_id, "test", std::string(secret.substr(0, 10)), sha256_hex(secret), kT0);
    EXPECT_TRUE(IsOk(k));
    return k.is_ok() ? k->id : 0;
  }
  std::unique_ptr<api::Api> make_api(pipeline::Pipeline& pipeline) {
    // Blocking work runs inline: the tests need no thread pool.
    return std::make_unique<api::Api>(
        api::Deps{*store_, pipeline, metrics_, clock_, ids_, [](std::function<void()> f) { f(); }});
  }
  api::Response call(api::Request req, api::Api* api = nullptr) {
    ResponseSlot slot;
    (api ? api : api_.get())->handle(std::move(req), slot.respond());
    EXPECT_TRUE(slot.wait()) << "no response";
    EXPECT_EQ(slot.calls(), 1) << "responded more than once";
    return slot.response();
  }

  TempDir dir_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  Metrics metrics_;
  FakeClock clock_;
  UuidV7Generator ids_{clock_};
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::unique_ptr<api::Api> api_;
  int64_t project_ = 0;
};

}  // namespace agentlog::test
