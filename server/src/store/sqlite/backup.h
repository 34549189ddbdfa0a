// Online backup of an embedded database: consistent copies of agentlog.db, search.db and ids.db
// taken through SQLite's backup API while a server keeps writing (WAL readers never block
// the writer).
#pragma once

#include <string>

#include "util/status.h"

namespace agentlog::store::sqlite {

// Writes `out_dir`/agentlog.db, search.db and ids.db from the database in `data_dir`.
// `out_dir` is created if missing; existing files in it are never overwritten. Restoring is
// pointing --data at `out_dir` (or copying its files into a data directory).
Status backup(const std::string& data_dir, const std::string& out_dir);

}  // namespace agentlog::store::sqlite
