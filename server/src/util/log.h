// Logging: one JSON object per line on stderr ({"ts","level","msg"}), via spdlog.
#pragma once

#include <string>
#include <string_view>

namespace agentlog {

// Installs the JSON-lines logger as spdlog's default. Returns false for an unknown level.
bool setup_logging(std::string_view level);

// Logs `msg` at info level even when the configured level is higher (warn, error),
// for the lines scripts wait for, such as `listening on http://HOST:PORT`. Level `off`
// still silences it.
void log_always(std::string_view msg);

}  // namespace agentlog
