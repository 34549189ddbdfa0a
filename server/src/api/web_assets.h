// The dashboard (web/dist), compiled into the binary by scripts/embed.py --web.
#pragma once

#include <cstddef>
#include <string_view>

namespace agentlog::api {

struct WebAsset {
  std::string_view path;          // "/index.html", "/assets/index-3f2a.js"
  std::string_view content_type;
  std::string_view etag;          // quoted, from the content's hash
  std::string_view gzip;          // empty when compression does not pay
  std::string_view raw;
};

extern const WebAsset kWebAssets[];
extern const std::size_t kWebAssetsCount;  // 0 when the binary was built without the dashboard

}  // namespace agentlog::api
