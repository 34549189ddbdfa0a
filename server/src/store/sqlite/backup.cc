#include "store/sqlite/backup.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>

#include "store/sqlite/connection.h"

namespace agentlog::store::sqlite {

namespace {

Status copy_database(const std::string& from, const std::string& to) {
  auto src = Connection::open(from, true);
  if (!src.is_ok()) return src.status();
  auto dst = Connection::open(to, false);
  if (!dst.is_ok()) return dst.status();
  sqlite3_backup* b = sqlite3_backup_init(dst->get(), "main", src->get(), "main");
  if (!b) return dst->error(fmt::format("back up {}", from));
  // One step copies every page inside one read transaction: a consistent snapshot. The
  // busy timeout of the source covers a checkpoint that holds its lock for a moment.
  const int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    return Status::internal(fmt::format("back up {}: {}", from, sqlite3_errstr(rc)));
  }
  // A single file that opens anywhere, without a -wal beside it.
  return dst->exec("PRAGMA journal_mode=DELETE");
}

}  // namespace

Status backup(const std::string& data_dir, const std::string& out_dir) {
  namespace fs = std::filesystem;
  const fs::path main_db = fs::path(data_dir) / "agentlog.db";
  std::error_code ec;
  if (!fs::exists(main_db, ec)) return Status::not_found(fmt::format("no database at {}", main_db.string()));
  fs::create_directories(out_dir, ec);
  if (ec) return Status::unavailable(fmt::format("cannot create {}: {}", out_dir, ec.message()));
  for (const char* name : {"agentlog.db", "search.db", "ids.db"}) {
    if (fs::exists(fs::path(out_dir) / name, ec)) {
      return Status::conflict(fmt::format("{} exists; a backup never overwrites", (fs::path(out_dir) / name).string()));
    }
  }
  // The derived indexes first: they may then only trail the events copied after them (they
  // catch up on start), never refer to events the copy lacks.
  for (const char* name : {"search.db", "ids.db"}) {
    const fs::path db = fs::path(data_dir) / name;
    if (!fs::exists(db, ec)) continue;
    if (auto s = copy_database(db.string(), (fs::path(out_dir) / name).string()); !s.is_ok()) return s;
  }
  return copy_database(main_db.string(), (fs::path(out_dir) / "agentlog.db").string());
}

}  // namespace agentlog::store::sqlite
