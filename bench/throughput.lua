-- Throughput benchmark: 512 generate jobs against the emulator (2 s jobs,
-- 64x64 outputs, one variation), 64 in flight from one thread, each output
-- saved to disk. CPU time and peak memory are the client process's alone
-- (the emulator is another process); requests counts every attempt the
-- client made: token, submits, polls, downloads, retries.
--
--   make bench            (or: lua5.4 bench/throughput.lua [jobs] [in_flight])
--
-- Its last line: jobs=N wall_s=W ideal_s=I cpu_ms_per_job=C peak_rss_mib=R requests_per_job=Q

local firefly = require "firefly"
local core = require "firefly.core"
local launcher = require "firefly.launcher"

local JOBS = tonumber(arg and arg[1]) or 512
local IN_FLIGHT = tonumber(arg and arg[2]) or 64
local JOB_SECONDS = 2

local function peak_rss_mib()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("*a")
  f:close()
  return (tonumber(s:match("VmHWM:%s*(%d+)")) or 0) / 1024
end

local emu = assert(launcher.start { job_seconds = JOB_SECONDS })
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))

local ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
                         api_url = emu.url, ims_url = emu.url }
local items = {}
for i = 1, JOBS do items[i] = i end

local cpu0, t0 = os.clock(), core.now()
local _, errs = ff:map(items, function(i)
  local r, err = ff:generate_images { prompt = "benchmark job " .. i, numVariations = 1,
                                      size = { width = 64, height = 64 } }
  if not r then return nil, err end
  return r.outputs[1]:save(("%s/%04d.png"):format(dir, i))
end, { concurrency = IN_FLIGHT })
local wall, cpu = core.now() - t0, os.clock() - cpu0

local failed = 0
for _, e in pairs(errs) do
  failed = failed + 1
  if failed <= 3 then io.stderr:write(tostring(e), "\n") end
end
local stats = ff:stats()
ff:close()
emu.stop()
os.execute("rm -rf '" .. dir .. "'")

if failed > 0 then io.stderr:write(("%d jobs failed\n"):format(failed)) end
print(("jobs=%d wall_s=%.2f ideal_s=%d cpu_ms_per_job=%.2f peak_rss_mib=%.1f requests_per_job=%.2f"):format(
  JOBS - failed, wall, math.ceil(JOBS / IN_FLIGHT) * JOB_SECONDS, cpu * 1000 / JOBS, peak_rss_mib(),
  stats.requests / JOBS))
os.exit(failed == 0 and 0 or 1)
