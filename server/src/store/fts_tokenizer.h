// The full-text tokenizer of both backends: SQLite's FTS5 unicode61, folding case and
// diacritics. SQLite indexes with it directly; PostgreSQL stores the words it finds, so the
// two backends index and match exactly the same words (changing this re-tokenizes neither
// existing index: bump the SQLite search schema version and re-index PostgreSQL).
#pragma once

namespace agentlog::store {

inline constexpr const char* kFtsTokenizer = "unicode61";
inline constexpr const char* kFtsTokenizerArgs[] = {"remove_diacritics", "2"};
// The same, as an FTS5 `tokenize=` option.
inline constexpr const char* kFtsTokenizeOption = "unicode61 remove_diacritics 2";

}  // namespace agentlog::store
