-- What the wrk scripts share (loaded with dofile from the script's own folder):
-- a thread's share of a data file's lines, and the heartbeat request of a rising counter.
local M = {}

-- Lines "<a> <b>" of the file whose index modulo nthreads is the thread's id.
function M.share(path, tid, nthreads)
  local lines, i = {}, 0
  for line in io.lines(path) do
    if i % nthreads == tid then
      local a, b = line:match("^(%S+) (%S+)$")
      table.insert(lines, {a, b})
    end
    i = i + 1
  end
  return lines
end

-- The counter-th request's heartbeat over lines of "<token> <resource_id>": each pair in turn,
-- its seq rising from base, the position advancing 1 s a beat (wrapping at 100 s).
function M.heartbeat(lines, counter, base)
  local n = #lines
  local entry = lines[((counter - 1) % n) + 1]
  local seq = base + math.floor((counter - 1) / n) + 1
  local body = string.format(
    '{"resource_id":"%s","position_s":%d,"elapsed_s":20.0,"seq":%d}', entry[2], seq % 100, seq)
  return wrk.format("POST", "/api/v1/progress/heartbeat",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. entry[1]}, body)
end

return M
