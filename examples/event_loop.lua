-- A host with an event loop of its own (here a plain select() through
-- luasocket; luv, cqueues and an editor's epoll loop work the same way) waits
-- on the client's one descriptor instead of stepping it every frame: the
-- descriptor turns readable when a socket has data or the next poll is due.
--
--   lua5.4 examples/event_loop.lua      (needs lua-socket: apt-get install lua-socket)
--
-- Credentials or the bundled emulator: see examples/quickstart.lua.
local launcher = require "firefly.launcher"
local socket = require "socket"

local ff, emu = assert(launcher.client_or_emulator())
local fd = ff:pollfd() -- nil where the platform has no epoll: then sleep ff:timeout() between steps
local pollable = { getfd = function() return fd end }

local jobs = {}
for i, p in ipairs { "a lighthouse in fog", "a field of sunflowers", "a neon alley" } do
  jobs[i] = assert(ff:generate_images({ prompt = p, size = { width = 1024, height = 1024 } }, { wait = false }))
end

local left, failed, wakes = #jobs, 0, 0
while left > 0 do
  -- Sleeps until the client has work; ff:timeout() bounds the wait (nil: nothing pending).
  local limit = ff:timeout()
  if fd then socket.select({ pollable }, nil, limit) elseif limit then socket.sleep(limit) end
  wakes = wakes + 1
  for _, ev in ipairs(ff:step(0)) do
    if ev.type == "done" then
      left = left - 1
      print(("done: %s seed %d"):format(ev.job.id, ev.job.result.outputs[1].seed))
    elseif ev.type == "error" then
      left, failed = left - 1, failed + 1
      print("failed: " .. tostring(ev.err))
    end
  end
end
print(("%d jobs in %d wakes of the loop"):format(#jobs, wakes))

os.execute("mkdir -p out")
for i, job in ipairs(jobs) do
  if job.result then
    local path = ("out/event_loop-%d.png"):format(i)
    local ok, err = job.result.outputs[1]:save(path)
    if ok then print(path) else print(tostring(err)); failed = failed + 1 end
  end
end
ff:close()
if emu then emu.stop() end
os.exit(failed == 0 and 0 or 1, true)
