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
-- done() prints one line "AGENTLOG_WRK_RESULT {json}" that run.py parses.

local MARKER = "~@OTLP@~"

ok200 = 0
non200 = 0
accepted = 0
short_accept = 0
statuses = ""
first_error = ""

local parts = {}
local nparts = 0
local counter = 0
local tag = "00"
local spans = 0
local status_counts = {}

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

function setup(thread)
  thread_index = (thread_index or 0) + 1
  thread:set("tid", thread_index)
  threads = threads or {}
  table.insert(threads, thread)
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
  if status == 200 then
    ok200 = ok200 + 1
    if body == nil or #body == 0 then
      accepted = accepted + spans
    else
      short_accept = short_accept + 1
      if first_error == "" then first_error = "200 partial success (" .. #body .. " bytes)" end
    end
  else
    non200 = non200 + 1
    status_counts[status] = (status_counts[status] or 0) + 1
    local list = {}
    for code, count in pairs(status_counts) do list[#list + 1] = code .. ":" .. count end
    statuses = table.concat(list, ",")
    if first_error == "" then first_error = status .. " " .. string.gsub(string.sub(body or "", 1, 200), "[^%w%p ]", "?") end
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
  local t_ok, t_non, t_acc, t_short = 0, 0, 0, 0
  local codes, err = {}, ""
  for _, thread in ipairs(threads) do
    t_ok = t_ok + thread:get("ok200")
    t_non = t_non + thread:get("non200")
    t_acc = t_acc + thread:get("accepted")
    t_short = t_short + thread:get("short_accept")
    local s = thread:get("statuses")
    if s ~= "" then codes[#codes + 1] = s end
    if err == "" then err = thread:get("first_error") end
  end
  local e = summary.errors
  io.write(string.format(
    'AGENTLOG_WRK_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"ok200":%d,"non200":%d,"accepted":%d,"rejected":0,"short_accept":%d,' ..
    '"statuses":%s,"first_error":%s,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,' ..
    '"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    t_ok, t_non, t_acc, t_short,
    json_string(table.concat(codes, ",")), json_string(err),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
