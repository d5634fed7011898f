-- Batches over one client: ff:map runs a function per item in coroutines,
-- at most `concurrency` at once, keeps results in input order, reports
-- progress per job and per batch, and ends with a summary. Every generating
-- call made inside an item goes through pipeline.submit, which is where the
-- result cache, the journal and the batch's bookkeeping meet the engine.

local cache = require "firefly.cache"
local errors = require "firefly.errors"
local job = require "firefly.job"
local journal = require "firefly.journal"
local manifest = require "firefly.manifest"
local result = require "firefly.result"
local scheduler = require "firefly.scheduler"
local yieldable = require "firefly.yieldable"

local pipeline = {}

-- The coroutine running an item -> { batch = b, index = i }.
local current = setmetatable({}, { __mode = "k" })

local function here()
  local co = scheduler.running()
  return co and current[co]
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

-- ff:map(items, fn, {concurrency = n, fail_fast = bool, on_progress = fn, on_tick = fn})
-- returns results (input order), errs (by index) and a summary. on_tick runs
-- between engine steps, at least once a second while the batch runs, even
-- when no job has news (a live display, a check for Ctrl-C).
function pipeline.map(client, items, fn, opts)
  if type(items) ~= "table" then error("ff:map: items must be a table", 3) end
  if type(fn) ~= "function" then error("ff:map: fn must be a function", 3) end
  opts = opts or {}
  if type(opts) ~= "table" then error("ff:map: opts must be a table", 3) end
  local concurrency = opts.concurrency or 8
  if type(concurrency) ~= "number" or concurrency < 1 then
    error("ff:map: concurrency must be a number >= 1", 3)
  end
  if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
    error("ff:map: on_progress must be a function", 3)
  end
  if opts.on_tick ~= nil and type(opts.on_tick) ~= "function" then
    error("ff:map: on_tick must be a function", 3)
  end
  local b = {
    client = client, items = items, total = #items, on_progress = opts.on_progress,
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
    current[co] = { batch = b, index = i }
    b.active = b.active + 1
    local ok, value, err = yieldable.pcall(fn, items[i], i)
    current[co] = nil
    b.active = b.active - 1
    b.progress[i] = nil
    if ok and value ~= nil then
      results[i] = value
      b.done = b.done + 1
      if b.item_jobs[i] and b.item_jobs[i] == b.item_cached[i] then b.cached = b.cached + 1 end
    else
      errs[i] = ok and as_error(err, errors.new { kind = "raised", message = "returned nil" })
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

  local function worker()
    while next_i < b.total and not b.stopped do
      next_i = next_i + 1
      run_item(next_i)
    end
  end

  local workers = {}
  for w = 1, math.min(b.total, math.floor(concurrency)) do workers[w] = scheduler.spawn(worker) end
  local on_tick = opts.on_tick
  scheduler.loop(function()
    if on_tick then on_tick(snapshot(b, "tick")) end
    for w = 1, #workers do
      if coroutine.status(workers[w]) ~= "dead" then return false end
    end
    return true
  end)
  client._batches[b] = nil
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
  local at = here()
  if not at then return end
  local b, i = at.batch, at.index
  b.item_jobs[i] = (b.item_jobs[i] or 0) + 1
  if from_cache then
    b.item_cached[i] = (b.item_cached[i] or 0) + 1
    return
  end
  if b.stopped then j:cancel() end
  b.jobs[j] = true
  local user = j._on_progress
  j._on_progress = function(job_)
    b.progress[i] = job_.progress or 0
    if user then user(job_) end
    report(b, "job", i, job_)
  end
end

-- A job of a batch ended: it no longer needs cancelling.
local function left(j)
  local at = here()
  if at then at.batch.jobs[j] = nil end
end

-- The client's cache, journal and manifest, opened on first use.
local function stores(client)
  local s = client._stores
  if not s then
    local o = client._opts
    s = { cache = o.cache and cache.open(o.cache), journal = o.journal and journal.open(o.journal),
          manifest = o.manifest and manifest.open(o.manifest) }
    client._stores = s
  end
  return s
end

local function provenance(s, r, meta)
  if not s.manifest then return end
  for _, out in ipairs(r.outputs or {}) do
    result.on_saved(out, function(o, path) return s.manifest:saved(meta, o, path) end)
  end
end

local function from_cache(client, s, op, opts, key, meta)
  local hit = s.cache:get(key)
  if not hit then return nil end
  local r = result.new(client, hit.result, { job_id = hit.job_id, request_id = hit.request_id })
  for i, out in ipairs(r.outputs) do result.local_file(out, hit.files[i]) end
  r.from_cache = true
  meta.job_id, meta.request_id, meta.from_cache = hit.job_id, hit.request_id, true
  provenance(s, r, meta)
  local j = job.new(client, nil, op, opts)
  j.id, j.status, j.progress, j.result, j.finished, j.from_cache = hit.job_id, "succeeded", 100, r, true, true
  pipeline.joined(j, true)
  if opts.wait == false then return j end
  return r
end

-- Records the job in the journal as soon as Firefly has accepted it.
local function journaled(s, key, op, j)
  local user = j._on_progress
  local recorded = false
  j._on_progress = function(job_)
    if not recorded and job_.status_url then
      recorded = true
      local ok, err = s.journal:record(key, op, job_)
      if not ok then j._journal_error = err end
    end
    if user then user(job_) end
  end
end

-- Kinds of error after which an earlier run's job is given up and the request sent anew.
local GONE = { http = true, job_failed = true, canceled = true }

-- Every generating call ends here, validated and encoded. send(opts) starts
-- the job on the engine and returns it (never waiting). On the way: the
-- cache (a hit makes no network call), the journal (a job an earlier run
-- submitted is re-attached to, not submitted again), the batch, the manifest.
function pipeline.submit(client, op, body, opts, send)
  local s = stores(client)
  local use_journal = s.journal and opts.journal ~= false
  local use_cache = s.cache and opts.cache ~= false and (opts.cache == true or cache.reproducible(body))
  local key = (use_cache or use_journal) and cache.key(op, opts.model_version, body)
  local meta = { operation = op, prompt = body.prompt, model_version = opts.model_version }
  if use_cache then
    local hit = from_cache(client, s, op, opts, key, meta)
    if hit then return hit end
  end
  local earlier = use_journal and s.journal:take(key)
  local j, err
  if earlier then
    j = client:job(earlier.status_url, { wait = false, timeout = opts.timeout, on_progress = opts.on_progress })
    if j then j.operation, j.resumed = op, true end
  end
  if not j then
    j, err = send(opts)
    if not j then return nil, err end
    if use_journal then journaled(s, key, op, j) end
  end
  pipeline.joined(j)
  if opts.wait == false then return j end
  local r, werr = j:wait()
  left(j)
  -- Unrecorded, the job would be submitted again after a crash: say so, with its id to re-attach.
  if r and j._journal_error then
    local e = j._journal_error
    e.message = e.message .. ("; job %s finished unrecorded: ff:job(%q) re-attaches to it"):format(
      tostring(j.id), tostring(j.status_url or j.id))
    return nil, e
  end
  if not r then
    if use_journal and j.id then s.journal:failed(key, j) end
    if earlier and GONE[werr.kind] then return pipeline.submit(client, op, body, opts, send) end
    return nil, werr
  end
  meta.job_id, meta.request_id = r.job_id, r.request_id
  if use_cache then
    local paths, cerr = s.cache:put(key, r, function(url, path) return result.fetch(client, url, path) end)
    if not paths and cerr.kind == "io" then
      cerr.job_id = cerr.job_id or r.job_id
      cerr.message = cerr.message .. ("; job %s succeeded: ff:job(%q) re-attaches to it"):format(
        tostring(r.job_id), tostring(j.status_url or r.job_id))
      return nil, cerr
    end
    for i, out in ipairs(paths and r.outputs or {}) do result.local_file(out, paths[i]) end
  end
  provenance(s, r, meta)
  return r
end

return pipeline
