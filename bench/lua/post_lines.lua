-- wrk script: POST bodies built from the lines of a data file, split between wrk threads.
-- args: <data file> <kind: heartbeat|login> <seq base> <wrk threads>
-- heartbeat lines: "<token> <resource_id>"; login lines: "<mobile> <password>".
-- Each (token, resource) pair is used by one thread only and with a strictly rising seq,
-- so every heartbeat is a real write (never a replay) and no two are concurrent
-- as long as a thread has more pairs than connections. The position advances 1 s a beat
-- (wrapping at 100 s, within every resource), so the anti-cheating rules credit it.
local threads = {}
local counter = 0
codes = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local beats = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "beats.lua")

function init(args)
  kind, base, nthreads = args[2], tonumber(args[3]), tonumber(args[4])
  lines = beats.share(args[1], tid, nthreads)
end

function request()
  counter = counter + 1
  if kind == "heartbeat" then
    return beats.heartbeat(lines, counter, base)
  end
  local entry = lines[((counter - 1) % #lines) + 1]
  local body = string.format('{"mobile":"%s","password":"%s"}', entry[1], entry[2])
  return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("codes")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d: %d\n", status, n))
  end
end
