-- bench/wrk_common.lua — what the wrk scripts of bench/ share: per-thread response
-- counters, done() printing one line "AGENTLOG_WRK_RESULT {json}" that run.py parses, and
-- the filling of request templates' times.
-- Each wrk thread loads the script (and so this module) into a Lua state of its own; the
-- counters are globals so that done() can read them with thread:get.

ok200 = 0          -- responses with status 200
non200 = 0         -- responses with any other status
accepted = 0       -- items the 200 responses accepted
rejected = 0       -- items the 200 responses rejected
short_accept = 0   -- 200 responses that did not accept every item
statuses = ""      -- "code:count,..." for non-200 statuses
first_error = ""   -- the first problem seen (truncated), for the report

local M = {}
local threads = {}
local status_counts = {}

function M.setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

-- Fills template `t`'s times for the second `now`, keeping the literal chunks between its
-- markers so that a request costs one table.concat(t.chunks, prefix). t.pieces holds
-- literal strings, `marker`, and time offsets (numbers) that `stamp(offset)` turns into
-- bytes. Rebuilding once a second per template rather than once per request keeps wrk's
-- own CPU (it shares the machine with the server) low; requests sent within the same second
-- carry the same times, as many live agents' events do.
function M.refresh(t, now, marker, stamp)
  local chunks, cur = {}, {}
  for _, p in ipairs(t.pieces) do
    if p == marker then
      chunks[#chunks + 1] = table.concat(cur)
      cur = {}
    elseif type(p) == "number" then
      cur[#cur + 1] = stamp(p)
    else
      cur[#cur + 1] = p
    end
  end
  chunks[#chunks + 1] = table.concat(cur)
  t.chunks, t.second = chunks, now
end

-- A 200 that accepted `a` items and rejected `r`; `problem` (or nil) says why it was short.
function M.ok(a, r, problem)
  ok200 = ok200 + 1
  accepted = accepted + a
  rejected = rejected + r
  if problem then
    short_accept = short_accept + 1
    if first_error == "" then first_error = "200 " .. problem end
  end
end

function M.failed(status, body)
  non200 = non200 + 1
  status_counts[status] = (status_counts[status] or 0) + 1
  local list = {}
  for code, count in pairs(status_counts) do list[#list + 1] = code .. ":" .. count end
  statuses = table.concat(list, ",")
  if first_error == "" then
    first_error = status .. " " .. string.gsub(string.sub(body or "", 1, 300), "[^%w%p ]", "?")
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

function M.done(summary, latency)
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

return M
