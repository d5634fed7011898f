-- Frame-budget benchmark (issue 10 item 7): a 60 Hz host loop with 64 jobs of
-- 1024x1024 outputs in flight, each output saved with out:save(path,
-- {wait = false}) the frame its job ends. Measures every ff:step(0) and every
-- save call, and checks that each job was accepted once and ended once and
-- each save ended once. A benchmark, not a test: the figures are printed.
--
--   make bench-frame      (or: lua5.4 bench/frame.lua [jobs])
--
-- Its last line: frames=N step_ms_p50=A step_ms_p99=B step_ms_max=C save_blocked_ms_max=D lost_events=E
-- The line before it gives the CPU time inside each ff:step(0) (os.clock: the
-- process's, the commit worker's few microseconds included). On a loaded
-- machine the wall time above it is time spent waiting for a core, which no
-- client can take back; the CPU figures are what the client itself costs.

local firefly = require "firefly"
local core = require "firefly.core"
local launcher = require "firefly.launcher"
local socket = require "socket" -- the frame's idle sleep, as a game's loop would

local JOBS = tonumber(arg and arg[1]) or 64
local FRAME = 1 / 60

local emu = assert(launcher.start { job_seconds = 2 })
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
                         api_url = emu.url, ims_url = emu.url }

local jobs, saves, seen = {}, {}, {}
local function count(op, what)
  seen[op] = seen[op] or { accepted = 0, ended = 0 }
  seen[op][what] = seen[op][what] + 1
end
for i = 1, JOBS do
  jobs[i] = assert(ff:generate_images({ prompt = "frame job " .. i, size = { width = 1024, height = 1024 },
                                        seeds = { i } }, { wait = false }))
end

local step_ms, step_cpu_ms, save_ms, frames, ended_saves, failed = {}, {}, {}, 0, 0, 0
while ended_saves + failed < JOBS and frames < 60 * 600 do
  local frame_start = core.now()
  frames = frames + 1
  local cpu_start = os.clock()
  local evs = ff:step(0)
  step_ms[#step_ms + 1] = (core.now() - frame_start) * 1000
  step_cpu_ms[#step_cpu_ms + 1] = (os.clock() - cpu_start) * 1000
  for _, ev in ipairs(evs) do
    if ev.type == "accepted" then
      count(ev.job, "accepted")
    elseif ev.type == "done" or ev.type == "error" then
      count(ev.job, "ended")
      if ev.type == "error" then
        failed = failed + 1
        io.stderr:write(tostring(ev.err), "\n")
      elseif ev.job.operation then
        for k, out in ipairs(ev.job.result.outputs) do
          local t = core.now()
          saves[#saves + 1] = assert(out:save(("%s/%d-%d.png"):format(dir, #saves + 1, k), { wait = false }))
          save_ms[#save_ms + 1] = (core.now() - t) * 1000
        end
      else
        ended_saves = ended_saves + 1
      end
    end
  end
  local idle = FRAME - (core.now() - frame_start)
  if idle > 0 then socket.sleep(idle) end
end

local lost = 0
for _, op in ipairs(jobs) do
  local c = seen[op]
  if not c or c.accepted ~= 1 or c.ended ~= 1 then lost = lost + 1 end
end
for _, op in ipairs(saves) do
  if not seen[op] or seen[op].ended ~= 1 then lost = lost + 1 end
end
if #saves < JOBS then lost = lost + (JOBS - #saves) end

local function pct(list, p)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  return s[math.max(1, math.ceil(#s * p))] or 0
end
ff:close()
emu:stop()
os.execute("rm -rf '" .. dir .. "'")
print(("step_cpu_ms_p50=%.3f step_cpu_ms_p99=%.3f step_cpu_ms_max=%.3f")
  :format(pct(step_cpu_ms, 0.5), pct(step_cpu_ms, 0.99), pct(step_cpu_ms, 1)))
print(("frames=%d step_ms_p50=%.3f step_ms_p99=%.3f step_ms_max=%.3f save_blocked_ms_max=%.3f lost_events=%d")
  :format(frames, pct(step_ms, 0.5), pct(step_ms, 0.99), pct(step_ms, 1), pct(save_ms, 1), lost))
