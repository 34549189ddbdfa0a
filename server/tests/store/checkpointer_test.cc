// The checkpointer copies the WAL on its own thread, and the writer's copy of the rest
// starts the WAL over, so the WAL stays bounded while commits keep coming.
#include "store/sqlite/checkpointer.h"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "store/sqlite/connection.h"
#include "testing/eventually.h"
#include "testing/temp_dir.h"

namespace agentlog::store::sqlite {
namespace {

constexpr int kPage = 4096;
constexpr int kStartFrames = 40, kMaxFrames = 160;
constexpr int kCommits = 300, kRowsPerCommit = 20;  // ~6 frames per commit, ~1,800 in all

Connection open_wal_db(const std::string& path) {
  auto c = Connection::open(path, false);
  EXPECT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_TRUE(c->exec(fmt::format("PRAGMA page_size={}; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                  "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
                                  kPage))
                  .is_ok());
  return std::move(*c);
}

void commit_rows(Connection& c) {
  Transaction tx(c);
  ASSERT_TRUE(tx.begin_immediate().is_ok());
  auto st = c.prepare("INSERT INTO t (body) VALUES (?)");
  ASSERT_TRUE(st.is_ok());
  const std::string body(1000, 'x');
  for (int i = 0; i < kRowsPerCommit; ++i) {
    st->bind(1, std::string_view(body));
    ASSERT_EQ(st->step(), SQLITE_DONE);
    st->reset();
  }
  ASSERT_TRUE(tx.commit().is_ok());
}

// The most frames the WAL file ever held: it is overwritten from its start, never
// shrunk, once the WAL starts over.
int64_t wal_file_frames(const std::string& path) {
  return (static_cast<int64_t>(std::filesystem::file_size(path + "-wal")) - 32) / (kPage + 24);
}

int64_t count_rows(Connection& c) {
  auto st = c.prepare("SELECT count(*) FROM t");
  EXPECT_TRUE(st.is_ok());
  return st->step() == SQLITE_ROW ? st->int64(0) : -1;
}

// A WAL database in a temporary directory, its writer connection, and a checkpointer on it.
class CheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(checkpointer.start(writer.get()).is_ok()); }

  test::TempDir dir;
  const std::string path = dir.path() + "/t.db";
  Connection writer = open_wal_db(path);
  Checkpointer checkpointer{path, kStartFrames, kMaxFrames};
};

TEST_F(CheckpointerTest, KeepsTheWalBoundedWhileCommitsKeepComing) {
  for (int i = 0; i < kCommits; ++i) {
    commit_rows(writer);
    // Let the first bulk pass happen on the thread, however slow the machine.
    if (i == kStartFrames) {
      ASSERT_TRUE(test::eventually([&] { return checkpointer.bulk_passes() >= 1; }));
    }
  }
  EXPECT_GE(checkpointer.bulk_passes(), 1);
  EXPECT_GE(checkpointer.writer_passes(), 1);
  // At most the bound plus the commit that crossed it.
  EXPECT_LE(wal_file_frames(path), kMaxFrames + 10);
  checkpointer.stop();
  EXPECT_EQ(count_rows(writer), int64_t{kCommits} * kRowsPerCommit);
  auto check = writer.prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.is_ok());
  ASSERT_EQ(check->step(), SQLITE_ROW);
  EXPECT_EQ(check->text(0), "ok");
}

// The premise of the test above: without checkpoints the same commits grow the WAL far
// past the bound.
TEST(WalWithoutCheckpointsTest, TheSameCommitsOutgrowTheBound) {
  test::TempDir dir;
  const std::string path = dir.path() + "/t.db";
  Connection writer = open_wal_db(path);
  sqlite3_wal_autocheckpoint(writer.get(), 0);
  for (int i = 0; i < kCommits; ++i) commit_rows(writer);
  EXPECT_GT(wal_file_frames(path), 4 * kMaxFrames);
}

// A reader that keeps an old snapshot (a backup, a long export) holds the WAL back, but
// the writer's commits go on and the WAL starts over once the reader is done.
TEST_F(CheckpointerTest, AReaderHoldingASnapshotDelaysTheRestartButNoCommit) {
  commit_rows(writer);
  auto reader = Connection::open(path, true);
  ASSERT_TRUE(reader.is_ok());
  ASSERT_TRUE(reader->exec("BEGIN").is_ok());
  EXPECT_EQ(count_rows(*reader), kRowsPerCommit);  // the snapshot is taken here
  for (int i = 0; i < kCommits / 3; ++i) commit_rows(writer);
  const int64_t held = wal_file_frames(path);
  EXPECT_GT(held, kMaxFrames);  // nothing after the reader's snapshot could be copied
  ASSERT_TRUE(reader->exec("COMMIT").is_ok());
  for (int i = 0; i < kCommits; ++i) commit_rows(writer);
  // Started over: the file did not grow by the ~1,800 frames written since.
  EXPECT_LE(wal_file_frames(path), held + kMaxFrames);
  checkpointer.stop();
  EXPECT_EQ(count_rows(writer), int64_t{kCommits + kCommits / 3 + 1} * kRowsPerCommit);
}

}  // namespace
}  // namespace agentlog::store::sqlite
