-- bench/otlp.lua — wrk script for the OTLP ingest benchmark (driven by bench/run.py).
--
-- Each request is POST /v1/traces with one ExportTraceServiceRequest in protobuf (spans
-- with typical GenAI attributes, written by `agentlog_otlp_bench --write-bodies`). Every
-- trace id and session id of a template starts with the 8-byte marker ~@OTLP@~; each
-- request replaces it with 8 hex characters unique to (run tag, wrk thread, request
-- number), so every request carries new spans (re-sent spans would take the slower
-- replacement path). Lua strings are binary-safe and the replacement keeps every length,
-- so the protobuf stays valid.
--
-- Script arguments (after `--` on the wrk command line):
--   1: directory holding body-0.pb .. body-(N-1).pb
--   2: N, the number of template files
--   3: run tag: two hex digits (distinguishes warm-up and measured runs)
--   4: spans per request
--
-- A 200 with an empty body accepted every span; a 200 with a body is a partial success.

local MARKER = "~@OTLP@~"

-- The shared counters and report (bench/wrk_common.lua), found next to this script.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("wrk_common")
setup, done = common.setup, common.done

local parts = {}
local nparts = 0
local counter = 0
local tag = "00"
local spans = 0

local function split_plain(s, sep)
  local out, pos = {}, 1
  while true do
    local a, b = string.find(s, sep, pos, true)
    if not a then
      out[#out + 1] = string.sub(s, pos)
      return out
    end
    out[#out + 1] = string.sub(s, pos, a - 1)
    pos = b + 1
  end
end

function init(args)
  local dir, n = args[1], tonumber(args[2])
  tag = args[3] or "00"
  spans = tonumber(args[4] or "0")
  if not dir or not n or n < 1 or #tag ~= 2 then
    error("usage: wrk ... -s otlp.lua URL -- TEMPLATE_DIR N RUN_TAG(2 hex) SPANS")
  end
  for i = 0, n - 1 do
    local path = dir .. "/body-" .. i .. ".pb"
    local f = assert(io.open(path, "rb"), "cannot open " .. path)
    local body = f:read("*a")
    f:close()
    nparts = nparts + 1
    parts[nparts] = split_plain(body, MARKER)
  end
end

function request()
  counter = counter + 1
  local prefix = string.format("%s%01x%05x", tag, (tid or 0) % 16, counter % 1048576)
  local body = table.concat(parts[(counter % nparts) + 1], prefix)
  return wrk.format("POST", "/v1/traces", nil, body)
end

function response(status, headers, body)
  if status ~= 200 then return common.failed(status, body) end
  if body == nil or #body == 0 then
    common.ok(spans, 0, nil)
  else
    common.ok(0, 0, "partial success (" .. #body .. " bytes)")
  end
end
