-- luacheck: globals love
-- A real LÖVE 11 game (LuaJIT) driving firefly from its frame loop, run under
-- xvfb-run by spec/love_spec.lua: 16 jobs created with wait = false, stepped
-- with ff:step(0) from love.update, every output saved with
-- out:save(path, {wait = false}), one loaded as a texture. It prints one
-- line of figures and quits: 0 when every job and save ended well.
-- Args: the checkout, the emulator's URL, the output directory. Packed as a
-- .love with the firefly modules inside (spec/love_spec.lua does), the
-- checkout is "-": the Lua modules come from the archive alone, and the core
-- from lib/firefly/core.so beside the .love, as the README tells a game to ship it.
local ff, jobs, saves = nil, {}, {}
local seen = {}          -- operation -> { accepted = n, ended = n }
local step_ms, save_ms = {}, {}
local frames, saved, failed, texture = 0, 0, 0, nil
local out_dir

local function count(op, what)
  seen[op] = seen[op] or { accepted = 0, ended = 0 }
  seen[op][what] = seen[op][what] + 1
end

function love.load(args)
  local root, url
  root, url, out_dir = args[1], args[2], args[3]
  if root ~= "-" then
    package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
    package.cpath = root .. "/build/lib/jit/?.so;" .. package.cpath
  else
    -- A C module cannot be loaded from inside a zip: core.so ships beside the game.
    package.cpath = love.filesystem.getSourceBaseDirectory() .. "/lib/?.so;" .. package.cpath
  end
  local firefly = require "firefly"
  -- Where the module was loaded from: a path in the archive ("firefly/init.lua") when packed.
  print("firefly_from=" .. debug.getinfo(firefly.new, "S").source)
  ff = firefly.new { client_id = "emulator-client-id", client_secret = "emulator-client-secret",
                     api_url = url, ims_url = url }
  for i = 1, 16 do
    jobs[i] = assert(ff:generate_images({ prompt = "sprite " .. i, size = { width = 64, height = 64 }, seeds = { i } },
                                        { wait = false }))
  end
end

local function percentile(list, p)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  return s[math.max(1, math.ceil(#s * p))] or 0
end

local function finish(code)
  local lost = 0
  for _, op in ipairs(jobs) do
    local c = seen[op] or { accepted = 0, ended = 0 }
    if c.accepted ~= 1 or c.ended ~= 1 then lost = lost + 1 end
  end
  for _, op in ipairs(saves) do
    if not seen[op] or seen[op].ended ~= 1 then lost = lost + 1 end
  end
  print(("frames=%d step_ms_p50=%.3f step_ms_p99=%.3f step_ms_max=%.3f save_blocked_ms_max=%.3f "
    .. "lost_events=%d saved=%d failed=%d texture=%s"):format(frames, percentile(step_ms, 0.5),
    percentile(step_ms, 0.99), percentile(step_ms, 1), percentile(save_ms, 1), lost, saved, failed,
    texture and (texture:getWidth() .. "x" .. texture:getHeight()) or "none"))
  io.stdout:flush()
  ff:close()
  love.event.quit((code == 0 and lost == 0) and 0 or 1)
end

function love.update()
  frames = frames + 1
  local t0 = love.timer.getTime()
  local evs = ff:step(0)
  step_ms[#step_ms + 1] = (love.timer.getTime() - t0) * 1000
  for _, ev in ipairs(evs) do
    if ev.type == "accepted" then
      count(ev.job, "accepted")
    elseif ev.type == "done" or ev.type == "error" then
      count(ev.job, "ended")
      if ev.type == "error" then
        failed = failed + 1
        print("error: " .. tostring(ev.err))
      elseif ev.job.operation then -- a job: save its outputs without blocking the frame
        for k, out in ipairs(ev.job.result.outputs) do
          local t1 = love.timer.getTime()
          local name = ("%s/%s-%d.png"):format(out_dir, (ev.job.id:gsub("[^%w]", "_")), k)
          local op = assert(out:save(name, { wait = false }))
          save_ms[#save_ms + 1] = (love.timer.getTime() - t1) * 1000
          saves[#saves + 1] = op
        end
      else -- a save
        saved = saved + 1
        if not texture then
          local f = assert(io.open(ev.job.result, "rb"))
          local bytes = f:read("*a")
          f:close()
          texture = love.graphics.newImage(love.filesystem.newFileData(bytes, "output.png"))
        end
      end
    end
  end
  if saved + failed >= 16 and #saves + failed >= 16 then return finish(failed == 0 and 0 or 1) end
  if frames > 60 * 120 then return finish(1) end -- two minutes of frames: something is stuck
end

function love.draw()
  if texture then love.graphics.draw(texture, 10, 10) end
end
