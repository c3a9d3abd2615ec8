-- wrk script for bench/bench_overload.py: heartbeats at a fixed offered rate, latency per status.
-- Run with one connection per wrk thread (-t C -c C): a thread's Lua state then has exactly one
-- request in flight, so the send time kept in request() belongs to the answer in response().
-- args: <data file> <seq base> <threads> <requests/s per connection>
-- data lines: "<token> <resource_id>" (as post_lines.lua). Each pair is used by one thread only,
-- with a rising seq and a position that advances 1 s a beat, so every admitted beat is a write.
-- Sends are scheduled (open loop, as wrk2 does): the k-th request of a connection is due at
-- start + k / rate. A connection still waiting for an answer when the next is due sends it late;
-- latency is counted from the due time (what a player waiting in line sees) and, apart, from the
-- actual send. done() prints "lat <status> <ms> <count>" and "svc <status> <ms> <count>"
-- (millisecond buckets) and "late <n>" (requests sent more than 10 ms after their due time).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } yanxiu_timespec;
int clock_gettime(int clk_id, yanxiu_timespec *tp);
]]
local ts = ffi.new("yanxiu_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local beats = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "beats.lua")
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  base, nthreads, gap = tonumber(args[2]), tonumber(args[3]), 1000 / tonumber(args[4])
  counter = 0
  lat, svc, late = {}, {}, 0
  -- threads start spread over one gap, so that the connections do not send in step (wrk
  -- sends each connection's first request at once; delay() paces the rest)
  start = now_ms() + gap * tid / nthreads
  lines = beats.share(args[1], tid, nthreads)
end

function delay()
  return math.max(0, start + counter * gap - now_ms())
end

function request()
  counter = counter + 1
  sent = now_ms()
  due = math.min(start + (counter - 1) * gap, sent) -- the first may go before its slot
  if sent - due > 10 then late = late + 1 end
  return beats.heartbeat(lines, counter, base)
end

local function count(hist, status, ms)
  local key = status * 100000 + math.min(math.floor(ms), 99999)
  hist[key] = (hist[key] or 0) + 1
end

function response(status, headers, body)
  local t = now_ms()
  count(lat, status, t - due)
  count(svc, status, t - sent)
end

function done(summary, latency, requests)
  local late_total = 0
  for _, thread in ipairs(threads) do
    for name, hist in pairs({lat = thread:get("lat"), svc = thread:get("svc")}) do
      for key, n in pairs(hist) do
        io.write(string.format("%s %d %d %d\n", name, math.floor(key / 100000), key % 100000, n))
      end
    end
    late_total = late_total + thread:get("late")
  end
  io.write(string.format("late %d\n", late_total))
end
