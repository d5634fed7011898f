-- Coroutines over the engine. Inside firefly.run or ff:map a generating call
-- (or a download) yields in Lua, never across C, until its operation ends;
-- the loop here steps the clients that have work and resumes whoever waited.
-- Outside a managed coroutine the same calls block by stepping the engine.

local yieldable = require "firefly.yieldable"

local scheduler = {}

local WAIT = {}                                     -- what a waiting coroutine yields
local managed = setmetatable({}, { __mode = "k" })  -- coroutines this scheduler drives
local ready = {}                                    -- coroutines to resume, in order
local busy = {}                                     -- clients with operations in flight

local function running()
  local co = yieldable.running()
  if co and managed[co] then return co end
  return nil
end

scheduler.running = running

function scheduler.track(client, active)
  busy[client] = active or nil
end

-- Parks the current managed coroutine until obj.finished; false outside one.
function scheduler.wait(obj)
  local co = running()
  if not co then return false end
  obj._waiters = obj._waiters or {}
  obj._waiters[#obj._waiters + 1] = co
  while not obj.finished and obj._raised == nil do coroutine.yield(WAIT) end
  return true
end

function scheduler.wake(obj)
  local waiters = obj._waiters
  if not waiters then return end
  obj._waiters = nil
  for i = 1, #waiters do ready[#ready + 1] = waiters[i] end
end

-- Resumes every ready coroutine once. An error inside one propagates, with
-- its traceback, from the loop that drives it.
function scheduler.resume_ready()
  while #ready > 0 do
    local batch = ready
    ready = {}
    for i = 1, #batch do
      local co = batch[i]
      if managed[co] and coroutine.status(co) == "suspended" then
        local ok, what = coroutine.resume(co)
        if not ok then
          managed[co] = nil
          -- The rest of this turn still runs later: they belong to other callers.
          for k = i + 1, #batch do ready[#ready + 1] = batch[k] end
          error(debug.traceback(co, tostring(what)), 0)
        end
        -- A plain yield (not a firefly wait) means "let the others run": go again.
        if coroutine.status(co) == "suspended" and what ~= WAIT then ready[#ready + 1] = co end
      end
    end
  end
end

-- An aborted loop's coroutines are never resumed again (by a later call).
function scheduler.forget(list)
  local gone = {}
  for _, co in ipairs(list) do
    gone[co] = true
    managed[co] = nil
  end
  local keep = {}
  for _, co in ipairs(ready) do
    if not gone[co] then keep[#keep + 1] = co end
  end
  ready = keep
end

function scheduler.spawn(fn, ...)
  local args, n = { ... }, select("#", ...)
  local box = {}
  local co = coroutine.create(function()
    box.results = { n = 0 }
    local r = { fn((table.unpack or unpack)(args, 1, n)) }
    box.results = r
    box.n = select("#", (table.unpack or unpack)(r))
  end)
  managed[co] = true
  ready[#ready + 1] = co
  return co, box
end

-- Steps the busy clients once. With one client (the usual case) it sleeps in
-- the engine until something happens; with several it takes short turns.
local function pump()
  local first, count = nil, 0
  for client in pairs(busy) do
    first = first or client
    count = count + 1
  end
  if count == 0 then return false end
  if count == 1 then
    first:_pump(1)
  else
    for client in pairs(busy) do client:_pump(0.01) end
  end
  return true
end

-- Drives until done() is true.
function scheduler.loop(done)
  while true do
    scheduler.resume_ready()
    if done() then return end
    if #ready == 0 and not pump() then
      error("firefly: coroutines are waiting, but no request is in flight", 0)
    end
  end
end

return scheduler
