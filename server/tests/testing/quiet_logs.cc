// Keeps the test output readable: the code under test logs at info level (e.g. every
// applied migration); tests only want warnings and errors.
#include <spdlog/spdlog.h>

namespace {

const bool kQuiet = [] {
  spdlog::set_level(spdlog::level::warn);
  return true;
}();

}  // namespace
