-- The script examples/c_host/host.c runs: four jobs, each output saved
-- without blocking the host's loop, every event counted once. It gives the
-- host the client's descriptor, deadline and step.
--
-- Credentials or the bundled emulator: see examples/quickstart.lua.
local launcher = require "firefly.launcher"

local ff, emu = assert(launcher.client_or_emulator())
local out_dir = os.getenv("FIREFLY_C_HOST_OUT") or "out"
local jobs, seen, left, failed = {}, {}, 0, 0
for i, p in ipairs { "a brass compass", "a paper lantern", "a glass chess piece", "a clay teapot" } do
  jobs[i] = assert(ff:generate_images({ prompt = p, seeds = { i } }, { wait = false }))
  left = left + 1
end

local host = {}

function host.pollfd() return assert(ff:pollfd(), "no epoll here: a host sleeps ff:timeout() instead") end

function host.timeout() return ff:timeout() end

-- Handles what the step queued; returns how many operations are left.
function host.step()
  for _, ev in ipairs(ff:step(0)) do
    local terminal = ev.type == "done" or ev.type == "error"
    if terminal then
      seen[ev.job] = (seen[ev.job] or 0) + 1
      left = left - 1
    end
    if ev.type == "error" then
      failed = failed + 1
      print("failed: " .. tostring(ev.err))
    elseif ev.type == "done" and ev.job.operation then -- a job: save its image, stepped like a job
      local path = ("%s/c_host-%s.png"):format(out_dir, ev.job.result.outputs[1].seed)
      assert(ev.job.result.outputs[1]:save(path, { wait = false }))
      left = left + 1
    elseif ev.type == "done" then
      print(ev.job.result)
    end
  end
  if left == 0 then
    local lost = 0
    for _, job in ipairs(jobs) do
      if seen[job] ~= 1 then lost = lost + 1 end
    end
    print(("c-host: %d jobs, %d failed, lost_events=%d"):format(#jobs, failed, lost))
    ff:close()
    if emu then emu.stop() end
    if failed + lost > 0 then os.exit(1) end
  end
  return left
end

os.execute("mkdir -p '" .. out_dir .. "'")
return host
