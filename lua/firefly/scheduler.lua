-- The one driver. Every wait goes through here: a blocking call, a coroutine
-- of firefly.run / ff:map (it yields in Lua, never across C), a coroutine of
-- a foreign scheduler (firefly.set_wait), and a host loop's ff:step. It steps
-- the engines, hands each event to its job or transfer, and puts it once on
-- its client's event queue, which ff:step drains: an event seen during a
-- blocking call is kept for the host, and a wait consumes only its own
-- operation's completion.

local core = require "firefly.core"
local yieldable = require "firefly.yieldable"

local scheduler = {}

local WAIT = {}                                     -- what a waiting coroutine yields
local managed = setmetatable({}, { __mode = "k" })  -- coroutines this scheduler drives
local ready = {}                                    -- coroutines to resume, in order
local busy = {}                                     -- clients with operations in flight
local consumed = setmetatable({}, { __mode = "k" }) -- queued completions a wait took
local foreign = nil                                 -- firefly.set_wait's function

local function running()
  local co = yieldable.running() -- sees through yieldable.pcall's inner coroutines (Lua 5.1)
  if co and managed[co] then return co end
  return nil
end

scheduler.running = running

function scheduler.track(client, active)
  busy[client] = active or nil
end

-- ---- the event queue ----

-- A client queues from its first ff:step or its first wait = false
-- operation on (before that nobody could be reading, and a script that only
-- blocks would keep every event for nothing).
function scheduler.open_queue(client)
  client._queue = client._queue or {}
end

-- Queues one event of obj (a job or transfer) for the host, once; a
-- terminal one ("done", "error") is remembered, so a wait can take it.
-- Events made in Lua (a job's uploads) come this way too.
function scheduler.post(client, obj, type)
  local q = client._queue
  if not q then return end
  local rec = { type = type, job = obj, status = obj.status, progress = obj.progress, err = obj.err }
  q[#q + 1] = rec
  if type == "done" or type == "error" then obj._queued = rec end
end

-- Steps one client's engine (up to `wait` seconds) and dispatches what it
-- produced. User callbacks run here, after the step returned; one that raises
-- is its own operation's error (lua/firefly/job.lua). Returns the first
-- operation whose callback raised during this step, if any. The driver steps
-- a client through client:_pump (which calls this), so that a wrapper of a
-- client's _pump (the CLI's Ctrl-C check) sees every step.
function scheduler.step(client, wait)
  local evs = client._core:step(wait)
  local raised = nil
  -- A callback may step this client again (ff:step, a blocking call) while
  -- this batch is handed on: the engine then has nothing in flight for an
  -- operation whose last event is still in the batch, which is not lost.
  client._handing = (client._handing or 0) + 1
  for i = 1, #evs do
    local ev = evs[i]
    local target = client._pending[ev.handle]
    if target then
      local terminal = ev.type == "done" or ev.type == "error"
      if terminal then
        client._pending[ev.handle] = nil
        client._npending = client._npending - 1
      end
      local ok, e = pcall(target._event, target, ev)
      if not ok then target:_broken(e) end
      if target._raised ~= nil and raised == nil then raised = target end
      if terminal and target.id and client._opts.log then
        client:_log("info", "job %s %s", target.id, target.err and tostring(target.err) or "succeeded")
      end
      if client._queue and not target._quiet then scheduler.post(client, target, ev.type) end
    end
  end
  client._handing = client._handing - 1
  local q, watched = client._queue, client._watched
  if q and watched then
    for op in pairs(watched) do
      if op.finished then
        watched[op] = nil
      else
        local got, total = client._core:progress(op._handle)
        if got and got ~= op.bytes then
          op.bytes, op.total = got, total
          op.progress = total and total > 0 and math.floor(got * 100 / total) or nil
          q[#q + 1] = { type = "progress", job = op, progress = op.progress, bytes = got, total = total }
        end
      end
    end
  end
  if client._handing == 0 then client:_reap() end
  busy[client] = client._npending > 0 or nil
  return raised
end

-- A wait = false save or fetch: from now on each step that saw its body grow
-- queues one "progress" event for it (one per step at most, however many
-- chunks arrived), with bytes so far and the announced total.
function scheduler.watch(client, op)
  client._watched = client._watched or {}
  client._watched[op] = true
end

-- A wait took obj's completion: the host does not get it a second time.
function scheduler.consume(obj)
  local rec = obj._queued
  if rec then
    consumed[rec] = true
    obj._queued = nil
  end
end

-- Every event queued since the last call, in order (ff:step).
function scheduler.drain(client)
  local q = client._queue
  client._queue = {}
  if not q then return {} end
  local out = {}
  for i = 1, #q do
    local rec = q[i]
    if not consumed[rec] then out[#out + 1] = rec end
    if rec.job._queued == rec then rec.job._queued = nil end
  end
  return out
end

function scheduler.queued(client)
  local q = client._queue
  return q ~= nil and #q > 0
end

-- ---- waiting ----

local function finished(obj)
  return obj.finished or obj._raised ~= nil
end

-- What a foreign scheduler's wait function gets: a pollable in cqueues'
-- sense (pollfd, events, timeout) for the client that has the operation.
local Waiter = {}
Waiter.__index = Waiter

function Waiter:pollfd() return self.client._core:pollfd() end
function Waiter.events() return "r" end
-- 0 once the operation is over: several calls wait on one client's descriptor,
-- and the step one of them makes may end another's operation without the
-- descriptor turning readable again; an adapter that looks at timeout() (a
-- socket's dirty(), a check after each loop turn) lets that one go too.
function Waiter:timeout()
  if finished(self.obj) then return 0 end
  local t = self.client._core:timeout()
  if self.deadline then
    local left = math.max(0, self.deadline - self.client:_clock())
    if t == nil or left < t then t = left end
  end
  return t
end

-- Sets (or, with nil, clears) the function that waits inside a foreign
-- scheduler's coroutine: fn(pollable) must return once pollable:pollfd() is
-- readable or pollable:timeout() seconds passed (0 as soon as the operation is
-- over), yielding to its scheduler meanwhile; it is called until the operation is over.
function scheduler.set_wait(fn)
  if fn ~= nil and type(fn) ~= "function" then error("firefly.set_wait: expects a function or nil", 2) end
  foreign = fn
end

-- A scheduler that sleeps until the client's descriptor turns readable (copas
-- has no timers) would miss a wait's own deadline: the client is made due at
-- the soonest deadline of the calls waiting on it (core:alarm), so its
-- descriptor turns readable then. Set again before each wait, as a step may
-- fire it a hair early.
local function alarm(client)
  if client._closed or not client._alarms then return end
  local soonest
  for _, d in pairs(client._alarms) do
    if soonest == nil or d < soonest then soonest = d end
  end
  client._core:alarm(soonest and math.max(0, soonest - client:_clock()) or nil)
end

local function foreign_wait(client, obj, w, deadline)
  while not finished(obj) do
    if deadline and client:_clock() >= deadline then return false end
    if deadline then alarm(client) end
    -- While a foreign scheduler watches the client's descriptor, ff:close()
    -- leaves it open (cqueues fails its whole loop on a descriptor closed
    -- under it); the last call to stop waiting closes it.
    -- (Not under pcall: Lua 5.1 cannot yield through it. A wait function that
    -- raised leaves the descriptor to the core's own collection.)
    client._parked = (client._parked or 0) + 1
    foreign(w)
    client._parked = client._parked - 1
    if client._closed and client._parked == 0 then client:_close_core() end
    if finished(obj) then break end -- ended meanwhile (ff:close() included): no step
    client:_pump(0)
  end
  return true
end

-- Waits until obj (a job or transfer) is over, or `timeout` seconds pass
-- (false then). Inside a managed coroutine it parks it; inside any other
-- coroutine, with a wait function set, it yields through that; anywhere else
-- it steps obj's client, sleeping in the engine until it has work.
function scheduler.wait(obj, timeout)
  if finished(obj) then return true end
  local client = obj._client
  local deadline = timeout and (client:_clock() + timeout)
  local co = running()
  if co then
    -- Almost always one coroutine waits for an operation: it is kept as itself, and only
    -- the others (in order) in a list.
    if obj._waiter == nil then
      obj._waiter = co
    else
      obj._waiters = obj._waiters or {}
      obj._waiters[#obj._waiters + 1] = co
    end
    while not finished(obj) do coroutine.yield(WAIT) end
    return true
  end
  local current, main = coroutine.running()
  if foreign and current and not main then
    local w = setmetatable({ client = client, deadline = deadline, obj = obj }, Waiter)
    if deadline then
      client._alarms = client._alarms or {}
      client._alarms[w] = deadline
    end
    local over = foreign_wait(client, obj, w, deadline)
    if deadline then
      client._alarms[w] = nil
      alarm(client)
    end
    return over
  end
  while not finished(obj) do
    local left = deadline and (deadline - client:_clock())
    if left and left <= 0 then return false end
    client:_pump(left and math.min(left, 1) or 1)
  end
  return true
end

function scheduler.wake(obj)
  local first, more = obj._waiter, obj._waiters
  if first == nil then return end
  obj._waiter, obj._waiters = nil, nil
  ready[#ready + 1] = first
  if more then
    for i = 1, #more do ready[#ready + 1] = more[i] end
  end
end

-- ---- coroutines ----

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
-- its engine until that has work, at most a second (so a loop's on_tick runs).
-- Several are waited on together, in one poll(2) of the core over all their
-- descriptors until the nearest of their deadlines, and only those that have
-- work are stepped: no client takes turns, none is stepped for nothing.
local function pump()
  local first, count = nil, 0
  for client in pairs(busy) do
    first = first or client
    count = count + 1
  end
  if count == 0 then return false end
  if count == 1 then
    first:_pump(1)
    return true
  end
  local list, cores = {}, {}
  for client in pairs(busy) do
    list[#list + 1] = client
    cores[#cores + 1] = client._core
  end
  for _, i in ipairs(core.wait(cores, 1)) do list[i]:_pump(0) end
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
