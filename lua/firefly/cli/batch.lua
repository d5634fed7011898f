-- `firefly batch FILE -o DIR` and `firefly validate FILE`: the overnight run.
-- Every row is validated before anything is sent; the run keeps its records
-- in DIR (rows.jsonl, the client's journal.jsonl and manifest.jsonl) so a
-- re-run goes on where the last one stopped; Ctrl-C cancels the jobs this
-- process has in flight and exits 130; DIR/index.html is rewritten as rows end.

local core = require "firefly.core"
local display = require "firefly.cli.display"
local fs = require "firefly.fs"
local gallery = require "firefly.cli.gallery"
local names = require "firefly.cli.names"
local plan = require "firefly.cli.plan"
local rows = require "firefly.cli.rows"
local state = require "firefly.cli.state"

local batch = {}

-- Whether anything has the name: looked at, never opened (a FIFO would block the open).
local function exists(path)
  return core.file_info(path) ~= nil
end

-- Whether DIR can take files, found before anything is submitted.
function batch.writable(dir)
  fs.mkdir_p(dir)
  local probe = ("%s/.firefly-write-test-%d"):format(dir, math.random(1, 1e9))
  local f, why = io.open(probe, "wb")
  if not f then
    return nil, ("cannot write to the output folder %s (%s)"):format(dir, (tostring(why):gsub("^[^:]*: ", "")))
  end
  local ok = f:write("x")
  local closed = f:close()
  os.remove(probe)
  if not ok or not closed then return nil, ("cannot write to the output folder %s"):format(dir) end
  return true
end

local function print_problems(io_, file, p)
  for _, pr in ipairs(p.problems) do
    io_.err:write(("%s:%d: %s: %s\n"):format(file, pr.line, pr.field, pr.message))
  end
  for _, wn in ipairs(p.warnings) do
    io_.err:write(("%s:%d: warning: %s: %s\n"):format(file, wn.line, wn.field, wn.message))
  end
end

local function print_plan(io_, p, est, o)
  local c = p.counts
  if o.json then
    io_.out:write(require("firefly.json").encode { event = "plan", counts = c, estimate = est,
      problems = #p.problems > 0 and p.problems or nil, warnings = #p.warnings > 0 and p.warnings or nil }, "\n")
    return
  end
  local w = function(...) io_.out:write(...) end
  w(("rows         %d (%d valid, %d invalid)\n"):format(c.rows, c.valid, c.invalid))
  if c.done + c.failed > 0 then
    local earlier = c.failed > 0 and (", %d failed earlier (--retry-failed sends them again)"):format(c.failed) or ""
    w(("already done %d%s\n"):format(c.done, earlier))
  end
  w(("to run       %d rows, %d outputs\n"):format(c.todo, c.outputs))
  w(("submits      %d (%d from the cache, %d re-attached from the journal)\n"):format(c.submits, c.cached, c.attach))
  w(("uploads      %d local files\n"):format(c.uploads))
  w(("requests     about %d (1 token, uploads, submits, ~%d polls a job, 1 download per output)\n")
    :format(est.requests, plan.POLLS_PER_JOB))
  w(("wall time    about %s at %g submits/min%s, concurrency %d, ~%d s per job (assumed)\n"):format(
    plan.duration(est.seconds), est.rate,
    est.rate_assumed and " (assumed: Adobe's default per organization; --rate-limit N if yours differs)"
      or " (--rate-limit)",
    est.concurrency, est.job_seconds))
end

-- o: parsed flags (output, dry_run, skip_invalid, retry_failed, json, concurrency, rate_limit, cache, timeout).
-- ctx: {client = function(opts) -> ff or nil, code; tty = bool; fail = function(err) -> code}
function batch.main(io_, cmd, o, file, ctx)
  local EXIT = ctx.EXIT
  local list, rerr = rows.read(file)
  if not list then io_.err:write("firefly: ", rerr, "\n") return EXIT.usage end
  local dir = o.output
  if cmd == "batch" and not dir then
    io_.err:write("firefly: batch needs an output folder: -o DIR\n")
    return EXIT.usage
  end
  local st, serr
  if dir then
    st, serr = state.open(dir .. "/rows.jsonl")
    if not st then io_.err:write("firefly: ", serr, "\n") return EXIT.usage end
  end
  local p = plan.build(list, { cache = o.cache, journal = dir and (dir .. "/journal.jsonl"), state = st,
    retry_failed = o.retry_failed })
  print_problems(io_, file, p)
  local est = plan.estimate(p, { rate = o.rate_limit, concurrency = o.concurrency })
  if cmd == "validate" or o.dry_run then
    print_plan(io_, p, est, o)
    if #p.problems > 0 and not o.skip_invalid then return EXIT.usage end
    return EXIT.ok
  end
  if #p.problems > 0 and not o.skip_invalid then
    io_.err:write(("firefly: %d of %d rows are invalid; nothing was sent "
      .. "(fix them, or --skip-invalid to run the rest)\n")
      :format(p.counts.invalid, p.counts.rows))
    return EXIT.usage
  end
  local ok, werr = batch.writable(dir)
  if not ok then io_.err:write("firefly: ", werr, "\n") return EXIT.usage end

  local ff, code = ctx.client {
    journal = dir .. "/journal.jsonl", manifest = dir .. "/manifest.jsonl", cache = o.cache,
    rate_limit = o.rate_limit and { per_minute = o.rate_limit } or nil,
    on_warning = function() end, -- each was said once above, by line; not again per submit
  }
  if not ff then return code end
  return batch.run(io_, ff, p, dir, o, ctx)
end

-- A file name in DIR for an output, never one another row has or that exists.
local function output_name(row, out, i, taken, dir)
  local ext = ((out.url or ""):match("^[^?#]*%.(%w+)$") or (out.video and "mp4" or "png")):lower()
  local stem = names.safe(row.base, out.seed or i)
  local name = names.unique(stem, "." .. names.safe(ext), function(n) return taken[n] or exists(dir .. "/" .. n) end)
  taken[name] = true
  return name
end

function batch.run(io_, ff, p, dir, o, ctx)
  local EXIT = ctx.EXIT
  local now = core.now
  local started = now()
  local st = assert(state.open(dir .. "/rows.jsonl")) -- batch.main looked at it first
  local mode = o.json and "json" or (ctx.tty and "tty" or "plain")
  local show = display.new(mode, io_.out, io_.err, now)
  local todo, taken = {}, {}
  local c = { total = 0, done = 0, failed = 0, canceled = 0, in_flight = 0, waiting = 0, queued = 0,
    cached = 0, elapsed = 0, before_done = 0, before_failed = 0 }
  for _, row in ipairs(p.rows) do
    c.total = c.total + 1
    row.live = row.plan == "done" and "succeeded" or row.plan == "failed" and "failed" or "queued"
    if row.before then
      for _, f in ipairs(row.before.outputs or {}) do taken[f.file] = true end
    end
    if row.plan == "todo" then
      todo[#todo + 1] = row
      c.queued = c.queued + 1
    elseif row.plan == "done" then
      c.before_done = c.before_done + 1
    else
      c.before_failed = c.before_failed + 1
    end
  end

  local function gallery_rows()
    local out, counts = {}, {}
    for _, row in ipairs(p.rows) do
      local ended = row.live == "succeeded" or row.live == "failed" or row.live == "canceled"
      local rec = ended and (row.result or row.before) or {}
      local status = row.live == "queued" and "queued" or (row.live == "running" and "in_flight") or row.live
      counts[status] = (counts[status] or 0) + 1
      out[#out + 1] = { line = row.line, name = row.base, prompt = row.body.prompt, operation = row.operation,
        model_version = row.model_version, status = status, job_id = rec.job_id or (row.job and row.job.id),
        error = rec.error, outputs = rec.outputs }
    end
    for _, pr in ipairs(p.problems) do
      local msg = ("skipped: %s: %s"):format(pr.field, pr.message)
      local last = out[#out]
      if last and last.line == pr.line and last.skipped then
        last.error = last.error .. "\n" .. msg
      else
        out[#out + 1] = { line = pr.line, name = "line " .. pr.line, status = "failed", error = msg, skipped = true,
          operation = "invalid row" }
        counts.failed = (counts.failed or 0) + 1
      end
    end
    table.sort(out, function(a, b) return a.line < b.line end)
    return out, counts
  end
  local function write_gallery()
    local grows, counts = gallery_rows()
    local ok, err = gallery.write(dir .. "/index.html", { title = "firefly batch: " .. dir, rows = grows,
      counts = counts, updated = os.date("!%Y-%m-%d %H:%M:%S UTC") })
    if not ok and not c.gallery_warned then
      c.gallery_warned = true
      show:note("firefly: the gallery cannot be written: " .. tostring(err))
    end
  end
  write_gallery()

  -- A model of the client's token bucket (src/ratelimit.h: `rate` tokens, refilled
  -- at `rate` a minute), fed by the submits Firefly accepted: the countdown shown.
  local bucket = o.rate_limit and { tokens = o.rate_limit, stamp = now() }
  local function refill(t)
    bucket.tokens = math.min(o.rate_limit, bucket.tokens + (t - bucket.stamp) * o.rate_limit / 60)
    bucket.stamp = t
  end
  local function submitted()
    if bucket then
      refill(now())
      bucket.tokens = bucket.tokens - 1
    end
  end
  local function counts()
    c.elapsed = now() - started
    local finished = c.done + c.failed
    c.eta = finished > 0 and (c.queued + c.in_flight) * c.elapsed / finished or nil
    c.waiting = 0
    for _, row in ipairs(todo) do
      if row.live == "running" and not (row.job and row.job.id) then c.waiting = c.waiting + 1 end
    end
    c.rate_wait = nil
    if bucket and c.waiting > 0 then
      refill(now())
      c.rate_wait = bucket.tokens >= 1 and 0 or (1 - bucket.tokens) * 60 / o.rate_limit
      -- Rows not yet let through go at the budget's pace, whatever the jobs' own speed.
      local later = (c.waiting + c.queued - 1) * 60 / o.rate_limit + c.rate_wait
      if not c.eta or c.eta < later then c.eta = later end
    end
    return c
  end

  local interrupted = false
  local function finish_row(row, status, rec)
    rec.key, rec.line, rec.name, rec.status = row.key, row.line, row.base, status
    rec.operation, rec.prompt, rec.model_version = row.operation, row.body.prompt, row.model_version
    row.live, row.result = status, rec
    c.in_flight = c.in_flight - 1
    if status == "succeeded" then c.done = c.done + 1
    elseif status == "failed" then c.failed = c.failed + 1
    else c.canceled = c.canceled + 1 end
    if status ~= "canceled" then
      local ok, err = st:put(rec)
      if not ok then show:note("firefly: cannot record row " .. row.line .. ": " .. tostring(err)) end
    end
    local files = {}
    for i, f in ipairs(rec.outputs or {}) do files[i] = dir .. "/" .. f.file end
    show:row({ line = row.line, name = row.base, status = status, files = files, error = rec.error,
      job_id = rec.job_id }, counts())
    write_gallery()
  end

  local function item(row)
    c.queued, c.in_flight = c.queued - 1, c.in_flight + 1
    row.live = "running"
    local r, err = ff[row.operation](ff, row.body, { model_version = row.model_version, timeout = o.timeout,
      on_progress = function(j)
        if not row.job then submitted() end
        row.job = j
      end })
    if not r then
      local status = (interrupted and err.kind == "canceled") and "canceled" or "failed"
      finish_row(row, status, { job_id = err.job_id or (row.job and row.job.id), error = tostring(err) })
      return nil, err
    end
    if r.from_cache then c.cached = c.cached + 1 end
    local saved = {}
    for i, out in ipairs(r.outputs) do
      local name = output_name(row, out, i, taken, dir)
      local ok, serr = out:save(dir .. "/" .. name)
      if not ok then
        finish_row(row, "failed",
          { job_id = r.job_id, outputs = saved, error = "saving " .. name .. ": " .. tostring(serr) })
        return nil, serr
      end
      saved[#saved + 1] = { file = name, seed = out.seed }
    end
    finish_row(row, "succeeded", { job_id = r.job_id, request_id = r.request_id, outputs = saved })
    return true
  end

  local function tick()
    local sig = core.signalled()
    if sig then
      if interrupted then
        show:note("firefly: interrupted again; leaving now")
        os.exit(130, true)
      end
      interrupted = true
      local n = ff:cancel_all()
      show:note(("firefly: interrupted: canceling %d job%s in flight (Ctrl-C again to leave at once)")
        :format(n, n == 1 and "" or "s"))
    end
    show:tick(counts())
  end

  if mode == "json" then
    show:json { event = "start", rows = c.total, todo = #todo, done = c.before_done, failed = c.before_failed,
      gallery = dir .. "/index.html" }
  end
  if #todo > 0 then
    -- Where coroutines cannot yield across pcall (Lua 5.1), a row's wait steps the client
    -- itself and on_tick waits with it: look at Ctrl-C and the display on every step too.
    local pump = ff._pump
    ff._pump = function(self, wait)
      local evs = pump(self, wait)
      tick()
      return evs
    end
    local _, errs = ff:map(todo, item, { concurrency = o.concurrency or 8, on_tick = tick })
    -- A row whose call raised never reached finish_row: record it failed, or it is
    -- neither done nor failed, missing from rows.jsonl, and the run exits 0.
    for i, row in ipairs(todo) do
      if row.live == "running" and errs[i] then
        finish_row(row, "failed", { job_id = row.job and row.job.id, error = tostring(errs[i]) })
      end
    end
  end
  if core.signalled() then interrupted = true end
  -- Rows the stop kept from starting stay queued: the next run does them.
  write_gallery()
  show:done()
  local stats = ff:stats()
  ff:close()
  local summary = {
    rows = c.total, succeeded = c.done + c.before_done, failed = c.failed + c.before_failed,
    canceled = c.canceled, not_started = c.queued, skipped_invalid = p.counts.invalid,
    new = c.done, from_cache = c.cached, requests = stats.requests,
    seconds = now() - started, gallery = dir .. "/index.html", interrupted = interrupted or nil,
  }
  if mode == "json" then
    summary.event = "summary"
    show:json(summary)
  else
    io_.out:write(("%s: %d rows: %d succeeded (%d this run, %d from the cache), %d failed%s%s%s\n"):format(
      interrupted and "interrupted" or "done", summary.rows, summary.succeeded, summary.new, summary.from_cache,
      summary.failed,
      summary.canceled > 0 and (", %d canceled"):format(summary.canceled) or "",
      summary.not_started > 0 and (", %d not started"):format(summary.not_started) or "",
      summary.skipped_invalid > 0 and (", %d invalid rows skipped"):format(summary.skipped_invalid) or ""))
    io_.out:write(("time %s, %d requests; gallery: %s\n"):format(plan.duration(summary.seconds), summary.requests,
      summary.gallery))
    if interrupted then io_.out:write("run the same command again to go on where this run stopped\n") end
  end
  if interrupted then return EXIT.interrupted end
  return summary.failed > 0 and EXIT.failed or EXIT.ok
end

return batch
