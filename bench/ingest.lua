-- bench/ingest.lua — wrk script for the ingest benchmark (driven by bench/run.py).
--
-- Each request is POST /v1/ingest with 1000 events. The bodies come from
-- template files written by run.py in which every event id, parent id and
-- session id contains the marker @@R@@; each request replaces the marker with
-- a prefix unique to (run tag, wrk thread, request number), so every request
-- carries new events. Re-sent ids would be replacements, which is a different
-- (slower) path than the one measured here. Every timestamp is a marker
-- @@T<ms offset>@@ that becomes an RFC 3339 time ending about when the request
-- is sent, as a live agent's would.
--
-- Script arguments (after `--` on the wrk command line):
--   1: directory holding body-0.json .. body-(N-1).json
--   2: N, the number of template files
--   3: run tag (distinguishes warm-up and measured runs, and re-runs)
--
-- The Authorization and Content-Type headers come from wrk's -H options.

local MARKER = "@@R@@"  -- a piece equal to this is replaced by the request's prefix

-- The shared counters and report (bench/wrk_common.lua), found next to this script.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("wrk_common")
setup, done = common.setup, common.done

local templates = {}  -- templates[i] = {pieces = {...}, span = largest time offset}
local counter = 0
local tag = "run"

-- Splits a template into literal strings, MARKER, and time offsets (numbers).
local function parse(body)
  local pieces, span, pos = {}, 0, 1
  while true do
    local a, b, off = string.find(body, "@@([RT]%d*)@@", pos)
    if not a then
      pieces[#pieces + 1] = string.sub(body, pos)
      return {pieces = pieces, span = span}
    end
    pieces[#pieces + 1] = string.sub(body, pos, a - 1)
    if off == "R" then
      pieces[#pieces + 1] = MARKER
    else
      local ms = tonumber(string.sub(off, 2))
      if ms > span then span = ms end
      pieces[#pieces + 1] = ms
    end
    pos = b + 1
  end
end

local ts_sec, ts_prefix = -1, ""
local function rfc3339(ms)
  local sec = math.floor(ms / 1000)
  if sec ~= ts_sec then
    ts_sec, ts_prefix = sec, os.date("!%Y-%m-%dT%H:%M:%S", sec)
  end
  return string.format("%s.%03dZ", ts_prefix, ms - sec * 1000)
end

function init(args)
  local dir, n = args[1], tonumber(args[2])
  tag = args[3] or "run"
  if not dir or not n or n < 1 then
    error("usage: wrk ... -s ingest.lua URL -- TEMPLATE_DIR N RUN_TAG")
  end
  for i = 0, n - 1 do
    local path = dir .. "/body-" .. i .. ".json"
    local f = assert(io.open(path, "rb"), "cannot open " .. path)
    templates[#templates + 1] = parse(f:read("*a"))
    f:close()
  end
end

function request()
  counter = counter + 1
  local prefix = string.format("%s-t%d-%x", tag, tid or 0, counter)
  local t = templates[(counter % #templates) + 1]
  local now = os.time()
  if t.second ~= now then
    local base = now * 1000 - t.span  -- the template's last time lands on this second
    common.refresh(t, now, MARKER, function(ms) return rfc3339(base + ms) end)
  end
  return wrk.format("POST", "/v1/ingest", nil, table.concat(t.chunks, prefix))
end

function response(status, headers, body)
  if status ~= 200 then return common.failed(status, body) end
  local a = tonumber(string.match(body, '"accepted"%s*:%s*(%d+)') or "0")
  local r = tonumber(string.match(body, '"rejected"%s*:%s*(%d+)') or "0")
  common.ok(a, r, a < 1000 and string.sub(body, 1, 300) or nil)
end
