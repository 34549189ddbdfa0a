-- bench/otlp.lua — wrk script for the OTLP ingest benchmark (driven by bench/run.py).
--
-- Each request is POST /v1/traces with one ExportTraceServiceRequest in protobuf (spans
-- with typical GenAI attributes, written by `agentlog_otlp_bench --write-bodies`). Every
-- trace id and session id of a template starts with the 8-byte marker ~@OTLP@~; each
-- request replaces it with 8 hex characters unique to (run tag, wrk thread, request
-- number), so every request carries new spans (re-sent spans would take the slower
-- replacement path). Every time is a placeholder ("~@T" and a 5-byte offset in
-- microseconds, little-endian) that becomes a fixed64 of nanoseconds ending about when the
-- request is sent, as a live exporter's (replaying fixed times would put each request's
-- spans on hundreds of pages of the time indexes; see write_ingest_templates in run.py).
-- Lua strings are binary-safe and every replacement keeps its length, so the protobuf
-- stays valid.
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

local templates = {}  -- templates[i] = {pieces = {...}, span = largest time offset (us)}
local counter = 0
local tag = "00"
local spans = 0
local floor = math.floor

-- Splits a template into literal strings, MARKER, and time offsets (numbers).
local function parse(body)
  local pieces, span, pos, from = {}, 0, 1, 1
  while true do
    local a = string.find(body, "~@", from, true)
    if not a then
      pieces[#pieces + 1] = string.sub(body, pos)
      return {pieces = pieces, span = span}
    end
    if string.sub(body, a, a + 7) == MARKER then
      pieces[#pieces + 1] = string.sub(body, pos, a - 1)
      pieces[#pieces + 1] = MARKER
      pos = a + 8
    elseif string.sub(body, a + 2, a + 2) == "T" then
      local b1, b2, b3, b4, b5 = string.byte(body, a + 3, a + 7)
      local us = b1 + b2 * 256 + b3 * 65536 + b4 * 16777216 + b5 * 4294967296
      if us > span then span = us end
      pieces[#pieces + 1] = string.sub(body, pos, a - 1)
      pieces[#pieces + 1] = us
      pos = a + 8
    end
    from = a + 2
    if from < pos then from = pos end
  end
end

-- The 8 little-endian bytes of a fixed64 holding `us` microseconds as nanoseconds. Lua
-- numbers are doubles (exact below 2^53) and us * 1000 is ~2^61, so the product is built
-- in two halves: us = uh * 2^24 + ul, us * 1000 = (uh * 1000) * 2^24 + ul * 1000.
local function fixed64_ns(us)
  local uh = floor(us / 16777216)
  local a, b = uh * 1000, (us - uh * 16777216) * 1000
  local lo = (a % 256) * 16777216 + b % 4294967296
  local hi = floor(a / 256) + floor(b / 4294967296) + floor(lo / 4294967296)
  lo = lo % 4294967296
  return string.char(lo % 256, floor(lo / 256) % 256, floor(lo / 65536) % 256, floor(lo / 16777216),
                     hi % 256, floor(hi / 256) % 256, floor(hi / 65536) % 256, floor(hi / 16777216))
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
    templates[#templates + 1] = parse(f:read("*a"))
    f:close()
  end
end

function request()
  counter = counter + 1
  local prefix = string.format("%s%01x%05x", tag, (tid or 0) % 16, counter % 1048576)
  local t = templates[(counter % #templates) + 1]
  local now = os.time()
  if t.second ~= now then
    local base = now * 1000000 - t.span  -- the template's last time lands on this second
    common.refresh(t, now, MARKER, function(us) return fixed64_ns(base + us) end)
  end
  return wrk.format("POST", "/v1/traces", nil, table.concat(t.chunks, prefix))
end

function response(status, headers, body)
  if status ~= 200 then return common.failed(status, body) end
  if body == nil or #body == 0 then
    common.ok(spans, 0, nil)
  else
    common.ok(0, 0, "partial success (" .. #body .. " bytes)")
  end
end
