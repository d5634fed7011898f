-- A host loop (a game's update, an editor's idle hook) drives eight jobs at
-- once without ever blocking: each frame calls ff:step(0), which advances
-- every transfer and returns what happened since the last frame.
--
--   lua5.4 examples/host_loop.lua
--
-- Credentials or the bundled emulator: see examples/quickstart.lua.
local core = require "firefly.core"
local launcher = require "firefly.launcher"

local FRAME = 1 / 30 -- seconds per simulated frame
local ff, emu = assert(launcher.client_or_emulator())

local prompts = {
  "a stone bridge", "a pine forest", "a desert oasis", "a snowy village",
  "a harbour at night", "a mountain pass", "a castle ruin", "a bamboo grove",
}

-- Submitting returns at once with wait = false; jobs[i].id arrives a step later.
local jobs, index = {}, {}
for i, p in ipairs(prompts) do
  local job, err = ff:generate_images({ prompt = p .. ", game background art",
    size = { width = 1024, height = 1024 } }, { wait = false })
  if not job then print("job " .. i .. ": " .. tostring(err)) else jobs[i], index[job] = job, i end
end

local left, failed, frame = #prompts, 0, 0
local longest = 0 -- the longest time one frame spent inside the client
while left > 0 do
  frame = frame + 1
  local t0 = core.now()
  local events = ff:step(0)
  longest = math.max(longest, core.now() - t0)
  for _, ev in ipairs(events) do
    local i = index[ev.job]
    if ev.type == "status" then
      print(("frame %4d  job %d  %s%s"):format(frame, i, ev.status,
        ev.progress and (" " .. ev.progress .. "%") or ""))
    elseif ev.type == "done" then
      left = left - 1
      print(("frame %4d  job %d  done: seed %d"):format(frame, i, ev.job.result.outputs[1].seed))
    elseif ev.type == "error" then
      left, failed = left - 1, failed + 1
      print(("frame %4d  job %d  failed: %s"):format(frame, i, tostring(ev.err)))
    end
  end
  -- The rest of the frame: draw, read input. A host with nothing to draw
  -- could sleep until ff:timeout() instead (nil when nothing is in flight).
  local idle = math.min(FRAME, ff:timeout() or FRAME)
  os.execute(("sleep %.3f"):format(idle))
end
print(("all %d jobs finished in %d frames"):format(#prompts, frame))
print(("longest time a frame spent inside the client: %.2f ms"):format(longest * 1000))

-- Fetching is a blocking call; after the loop it is fine to wait for it.
os.execute("mkdir -p out")
for i, job in ipairs(jobs) do
  if job.result then
    local path = ("out/host_loop-%d.png"):format(i)
    local ok, err = job.result.outputs[1]:save(path)
    if ok then print(path) else print(tostring(err)); failed = failed + 1 end
  end
end
ff:close()
if emu then emu.stop() end
os.exit(failed == 0 and 0 or 1, true) -- true: close the Lua state, finalizers run
