// Logging: one JSON object per line on stderr ({"ts","level","msg"}), via spdlog.
#pragma once

#include <string>
#include <string_view>

namespace agentlog {

// Installs the JSON-lines logger as spdlog's default. Returns false for an unknown level.
bool setup_logging(std::string_view level);

}  // namespace agentlog
