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
-- done() prints one line "AGENTLOG_WRK_RESULT {json}" that run.py parses.

local MARKER = "@@R@@"  -- a piece equal to this is replaced by the request's prefix

-- Per-thread state (globals so that done() can read them with thread:get).
ok200 = 0          -- responses with status 200
non200 = 0         -- responses with any other status
accepted = 0       -- sum of "accepted" over 200 responses
rejected = 0       -- sum of "rejected" over 200 responses
short_accept = 0   -- 200 responses that accepted fewer than 1000 items
statuses = ""      -- "code:count,..." for non-200 statuses
first_error = ""   -- the first non-200 body (truncated), for the report

local templates = {}  -- templates[i] = {pieces = {...}, span = largest time offset}
local counter = 0
local tag = "run"
local status_counts = {}

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

function setup(thread)
  thread_index = (thread_index or 0) + 1
  thread:set("tid", thread_index)
  threads = threads or {}
  table.insert(threads, thread)
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
  -- The template's last time lands on the current second (plus a spread of ms so that
  -- requests within one second do not repeat each other's times).
  local base = os.time() * 1000 - t.span + counter % 1000
  local out = {}
  for i, p in ipairs(t.pieces) do
    if p == MARKER then
      out[i] = prefix
    elseif type(p) == "number" then
      out[i] = rfc3339(base + p)
    else
      out[i] = p
    end
  end
  return wrk.format("POST", "/v1/ingest", nil, table.concat(out))
end

function response(status, headers, body)
  if status == 200 then
    ok200 = ok200 + 1
    local a = tonumber(string.match(body, '"accepted"%s*:%s*(%d+)') or "0")
    local r = tonumber(string.match(body, '"rejected"%s*:%s*(%d+)') or "0")
    accepted = accepted + a
    rejected = rejected + r
    if a < 1000 then
      short_accept = short_accept + 1
      if first_error == "" then first_error = "200 " .. string.sub(body, 1, 300) end
    end
  else
    non200 = non200 + 1
    status_counts[status] = (status_counts[status] or 0) + 1
    local list = {}
    for code, count in pairs(status_counts) do list[#list + 1] = code .. ":" .. count end
    statuses = table.concat(list, ",")
    if first_error == "" then first_error = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local t_ok, t_non, t_acc, t_rej, t_short = 0, 0, 0, 0, 0
  local codes, err = {}, ""
  for _, thread in ipairs(threads) do
    t_ok = t_ok + thread:get("ok200")
    t_non = t_non + thread:get("non200")
    t_acc = t_acc + thread:get("accepted")
    t_rej = t_rej + thread:get("rejected")
    t_short = t_short + thread:get("short_accept")
    local s = thread:get("statuses")
    if s ~= "" then codes[#codes + 1] = s end
    if err == "" then err = thread:get("first_error") end
  end
  local e = summary.errors
  io.write(string.format(
    'AGENTLOG_WRK_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"ok200":%d,"non200":%d,"accepted":%d,"rejected":%d,"short_accept":%d,' ..
    '"statuses":%s,"first_error":%s,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,' ..
    '"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    t_ok, t_non, t_acc, t_rej, t_short,
    json_string(table.concat(codes, ",")), json_string(err),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
