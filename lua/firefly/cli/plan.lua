-- What a batch would do, worked out with no network at all: every row
-- validated (line number and field), its identity and output name, what the
-- run's own records (rows.jsonl, the journal) and the cache already have,
-- the uploads it needs, and an estimate of the wall time. `firefly validate`,
-- `--dry-run` and the run itself all start here.

local cache = require "firefly.cache"
local inputs = require "firefly.inputs"
local journal = require "firefly.journal"
local names = require "firefly.cli.names"
local rows = require "firefly.cli.rows"
local validate = require "firefly.validate"

local plan = {}

-- Adobe's documented default: 4 submits a minute per organization (API-NOTES).
plan.ADOBE_RATE = 4
-- [GUESS] Typical seconds from submit to outputs for an image job; Adobe
-- publishes no figure. Only the estimate uses it, and says so.
plan.JOB_SECONDS = 20
-- [GUESS] Status polls per job at the client's back-off (1 s first, then up to 10 s).
plan.POLLS_PER_JOB = 4

-- The loc of a validation error as a column name: body.size.width -> size.width.
local function field_of(err)
  local parts = {}
  for i, k in ipairs(err.loc or {}) do
    if not (i == 1 and (k == "body" or k == "header")) then parts[#parts + 1] = tostring(k) end
  end
  if err.loc and err.loc[1] == "header" then return "model_version" end
  return #parts > 0 and table.concat(parts, ".") or "(row)"
end

local function message_of(err)
  local text = validate.describe(err)
  return (text:gsub("^[^:]*: ", "", 1))
end

local function outputs_of(body)
  local n = tonumber(body.numVariations)
  if not n and type(body.seeds) == "table" then n = #body.seeds end
  return math.max(1, math.floor(n or 1))
end

-- rows: from cli/rows.lua. opts: dir, cache (a folder), retry_failed, state (cli/state.lua).
-- Returns {rows, problems = {{line, field, message}}, counts, uploads}.
function plan.build(list, opts)
  local p = { rows = {}, problems = {}, warnings = {}, counts = {
    rows = #list, valid = 0, invalid = 0, done = 0, failed = 0,
    todo = 0, submits = 0, attach = 0, cached = 0, outputs = 0, uploads = 0 } }
  local c = p.counts
  local occurrences, bases, digests = {}, {}, {}
  local store = opts.cache and cache.open(opts.cache)
  local jr = opts.journal and journal.open(opts.journal)
  for _, row in ipairs(list) do
    local problems = {}
    for _, pr in ipairs(row.problems or {}) do problems[#problems + 1] = pr end
    local files
    if #problems == 0 then
      local err
      local _, entry = rows.schema_of(row)
      files, err = inputs.check(entry.name, row.body, { model_version = row.model_version or entry.model_version })
      -- A column Adobe's document does not know is sent, but said once (a typo would be lost).
      local _, warnings = validate.review(entry.name, row.body,
        { model_version = row.model_version or entry.model_version })
      for _, wn in ipairs(warnings or {}) do
        if wn.loc[#wn.loc] ~= "path" then
          p.warnings[#p.warnings + 1] = { line = row.line, field = field_of(wn), message = message_of(wn) }
        end
      end
      if not files then
        if err.details then
          for _, e in ipairs(err.details) do
            problems[#problems + 1] = { field = field_of(e), message = message_of(e) }
          end
        else
          problems[#problems + 1] = { field = "(image)", message = err.message }
        end
      end
    end
    if #problems > 0 then
      c.invalid = c.invalid + 1
      local said = {}
      for _, pr in ipairs(problems) do
        local text = pr.field .. ": " .. pr.message
        if not said[text] then
          said[text] = true
          p.problems[#p.problems + 1] = { line = row.line, field = pr.field, message = pr.message }
        end
      end
    else
      c.valid = c.valid + 1
      -- A row is known by what it asks for, as the client's cache and journal know it
      -- (a local file by its content); identical rows are told apart by their order.
      local id = cache.key(row.operation, row.model_version, inputs.identity(row.body, files))
      occurrences[id] = (occurrences[id] or 0) + 1
      row.key = occurrences[id] == 1 and id or (id .. "#" .. occurrences[id])
      local base = names.safe(row.name or names.slug(row.body.prompt) or row.operation)
      row.base = names.unique(base, "", function(n) return bases[n] end)
      bases[row.base] = true
      row.outputs_expected = outputs_of(row.body)
      local before = opts.state and opts.state:get(row.key)
      row.before = before
      if before and before.status == "succeeded" then
        row.plan = "done"
        c.done = c.done + 1
      elseif before and before.status == "failed" and not opts.retry_failed then
        row.plan = "failed"
        c.failed = c.failed + 1
      else
        row.plan = "todo"
        c.todo = c.todo + 1
        c.outputs = c.outputs + row.outputs_expected
        local jl = jr and jr.found[id]
        if store and cache.reproducible(row.body) and store:get(id) then
          row.source = "cache"
          c.cached = c.cached + 1
        elseif jl and #jl > 0 then
          table.remove(jl, 1)
          row.source = "journal"
          c.attach = c.attach + 1
        else
          row.source = "submit"
          c.submits = c.submits + 1
          for _, f in ipairs(files) do
            if not digests[f.digest] then
              digests[f.digest] = true
              c.uploads = c.uploads + 1
            end
          end
        end
      end
      p.rows[#p.rows + 1] = row
    end
  end
  return p
end

-- The estimate for a plan: {requests, seconds, rate, rate_assumed, concurrency, job_seconds}.
function plan.estimate(p, opts)
  local c = p.counts
  local rate = opts.rate or plan.ADOBE_RATE
  local conc = opts.concurrency or 8
  local T = opts.job_seconds or plan.JOB_SECONDS
  local jobs = c.submits + c.attach
  -- One token, the uploads, each submit, the polls of each job, one download per output.
  local downloads = 0
  for _, row in ipairs(p.rows) do
    if row.plan == "todo" and row.source ~= "cache" then downloads = downloads + row.outputs_expected end
  end
  local requests = (jobs + c.uploads > 0 and 1 or 0) + c.uploads + c.submits + jobs * plan.POLLS_PER_JOB + downloads
  local seconds = 0
  if jobs > 0 then
    local by_rate = c.submits > 0 and (c.submits - 1) * 60 / rate or 0
    local by_concurrency = math.ceil(jobs / conc) * T
    seconds = math.max(by_rate + T, by_concurrency)
  end
  return { requests = requests, seconds = seconds, rate = rate, rate_assumed = opts.rate == nil,
    concurrency = conc, job_seconds = T, downloads = downloads }
end

-- "1 h 05 min", "3 min 20 s", "45 s".
function plan.duration(s)
  s = math.floor(s + 0.5)
  if s >= 3600 then return ("%d h %02d min"):format(math.floor(s / 3600), math.floor(s % 3600 / 60)) end
  if s >= 60 then return ("%d min %02d s"):format(math.floor(s / 60), s % 60) end
  return ("%d s"):format(s)
end

return plan
