-- Batches over one client: ff:map runs a function per item in coroutines,
-- at most `concurrency` at once, keeps results in input order, reports
-- progress per job and per batch, and ends with a summary. Every job a
-- generating call starts inside an item joins the item's batch here
-- (lua/firefly/submit.lua calls pipeline.joined).

local errors = require "firefly.errors"
local options = require "firefly.options"
local scheduler = require "firefly.scheduler"
local yieldable = require "firefly.yieldable"

local pipeline = {}

-- The coroutine running an item -> its batch, and -> the item's index (two tables, so an
-- item costs no table of its own).
local current = setmetatable({}, { __mode = "k" })
local current_index = setmetatable({}, { __mode = "k" })

-- The batch and index of the item running here, if any.
local function here()
  local co = scheduler.running()
  if not co then return nil end
  return current[co], current_index[co]
end

local function snapshot(b, what, index, j)
  local running = 0
  for _, p in pairs(b.progress) do running = running + math.min(p, 99) end
  local finished = b.done + b.failed + b.canceled
  return {
    event = what, index = index, item = index and b.items[index], job = j,
    status = j and j.status, progress = j and j.progress,
    total = b.total, done = b.done, failed = b.failed, cached = b.cached, running = b.active,
    percent = b.total > 0 and math.floor((finished * 100 + running) / b.total) or 100,
    elapsed = b.client:_clock() - b.started,
  }
end

local function report(b, what, index, j)
  if b.on_progress then b.on_progress(snapshot(b, what, index, j)) end
end

-- Cancels every job the batch has in flight; items not yet started are skipped.
local function stop(b)
  b.stopped = true
  for j in pairs(b.jobs) do j:cancel() end
end

local function as_error(value, fallback)
  if errors.is(value) then return value end
  if value == nil then return fallback end
  return errors.new { kind = "raised", message = tostring(value) }
end

local MAP_OPTIONS = { concurrency = "number", fail_fast = "boolean", on_progress = "function",
                      on_tick = "function" }

-- ff:map(items, fn, {concurrency = n, fail_fast = bool, on_progress = fn, on_tick = fn})
-- returns results (input order), errs (by index) and a summary. on_tick runs
-- between engine steps, at least once a second while the batch runs, even
-- when no job has news (a live display, a check for Ctrl-C). An item
-- succeeds when fn returns a value other than nil and false: `return false,
-- err` (or nil, err) is that item's failure, as everywhere in Lua.
function pipeline.map(client, items, fn, opts)
  if type(items) ~= "table" then error("ff:map: items must be a table", 2) end
  if type(fn) ~= "function" then error("ff:map: fn must be a function", 2) end
  opts = options.check("ff:map", opts, MAP_OPTIONS, 3)
  local concurrency = opts.concurrency or 8
  -- A whole number (math.huge: no limit); 1.5 would silently have run one at a time.
  if concurrency ~= concurrency or concurrency < 1 or concurrency ~= math.floor(concurrency) then
    error(("ff:map: concurrency must be a whole number >= 1, got %s"):format(tostring(concurrency)), 2)
  end
  local b = {
    client = client, items = items, total = #items, on_progress = opts.on_progress, on_tick = opts.on_tick,
    fail_fast = opts.fail_fast and true or false,
    done = 0, failed = 0, cached = 0, canceled = 0, active = 0,
    jobs = {}, progress = {}, item_jobs = {}, item_cached = {},
    started = client:_clock(),
  }
  client._batches = client._batches or setmetatable({}, { __mode = "k" })
  client._batches[b] = true
  local results, errs, next_i = {}, {}, 0

  local function run_item(i)
    local co = scheduler.running()
    current[co], current_index[co] = b, i
    b.active = b.active + 1
    local ok, value, err = yieldable.pcall(fn, items[i], i)
    current[co], current_index[co] = nil, nil
    b.active = b.active - 1
    b.progress[i] = nil
    if ok and value ~= nil and value ~= false then
      results[i] = value
      b.done = b.done + 1
      if b.item_jobs[i] and b.item_jobs[i] == b.item_cached[i] then b.cached = b.cached + 1 end
    else
      errs[i] = ok and as_error(err, errors.new { kind = "raised", message = "returned " .. tostring(value) })
        or as_error(value)
      if b.stopped and errs[i].kind == "canceled" then
        b.canceled = b.canceled + 1 -- a casualty of the stop, not a failure of its own
      else
        b.failed = b.failed + 1
        if b.fail_fast and not b.stopped then stop(b) end
      end
    end
    report(b, "item", i)
  end

  -- Workers still running: the loop asks after every step, and asking each coroutine's
  -- status there cost 64 calls a step at 64 in flight. A worker that raises ends the loop
  -- with its error, so one that returns is the only way the count goes down.
  local live = 0
  local function worker()
    while next_i < b.total and not b.stopped do
      next_i = next_i + 1
      run_item(next_i)
    end
    live = live - 1
  end

  local workers = {}
  for w = 1, math.min(b.total, math.floor(concurrency)) do workers[w] = scheduler.spawn(worker) end
  live = #workers
  local on_tick = opts.on_tick
  local ok, why = pcall(scheduler.loop, function()
    if on_tick then on_tick(snapshot(b, "tick")) end
    return live == 0
  end)
  client._batches[b] = nil
  if not ok then
    -- The map is aborted (its on_progress raised, or the engine gave up):
    -- its jobs are cancelled and its coroutines forgotten, so that nothing
    -- of it runs on, or raises, inside a later call.
    stop(b)
    scheduler.forget(workers)
    error(why, 0)
  end
  -- Items never started because the batch stopped are errors too, so that
  -- results and errs together account for every item.
  for i = 1, b.total do
    if results[i] == nil and errs[i] == nil then
      errs[i] = errors.new { kind = "canceled", message = "not started: the batch was stopped" }
      b.canceled = b.canceled + 1
    end
  end
  local summary = {
    total = b.total, done = b.done, failed = b.failed, cached = b.cached,
    canceled = b.canceled, elapsed = client:_clock() - b.started,
  }
  report(b, "batch")
  return results, errs, summary
end

-- Stops every batch from starting more items and cancels every job in flight.
function pipeline.cancel_all(client)
  for b in pairs(client._batches or {}) do b.stopped = true end
  local n = 0
  for _, obj in pairs(client._pending) do
    if obj.cancel and obj:cancel() then n = n + 1 end
  end
  return n
end

-- Called for every job a generating call starts (or finds in the cache):
-- it joins the batch of the item that made it, for progress and fail_fast.
function pipeline.joined(j, from_cache)
  local b, i = here()
  if not b then return end
  b.item_jobs[i] = (b.item_jobs[i] or 0) + 1
  if from_cache then
    b.item_cached[i] = (b.item_cached[i] or 0) + 1
    return
  end
  if b.stopped then j:cancel() end
  b.jobs[j] = true
  -- A job's progress is the batch's only for its on_progress and on_tick (snapshot): without
  -- them the job keeps the caller's own on_progress, and no closure is made per job.
  if not (b.on_progress or b.on_tick) then return end
  local user = j._on_progress
  j._on_progress = function(job_)
    b.progress[i] = job_.progress or 0
    if user then user(job_) end
    report(b, "job", i, job_)
  end
end

-- A job of a batch ended: it no longer needs cancelling.
function pipeline.left(j)
  local b = here()
  if b then b.jobs[j] = nil end
end

return pipeline
