-- The job store and each job's timeline. Nothing runs in the background: a
-- job's state is computed from its timestamps whenever someone asks.
local errors = require "firefly.emulator.errors"
local native = require "firefly.emulator.native"
local outputs = require "firefly.emulator.outputs"
local util = require "firefly.emulator.util"

local jobs = {}

-- The shape of every job's life, in one place [GUESS: Adobe documents none of it].
jobs.TIMELINE = {
  pending_share = 0.10,  -- first tenth of --job-seconds: "pending"
  cancel_share = 0.20,   -- cancel_pending lasts this share of --job-seconds...
  cancel_cap = 1.0,      -- ...but at most this many seconds
  stuck_progress = 50,   -- where an [emulator:stuck] job stops
}

-- Prompt words that steer a job; listed by --help.
jobs.MAGIC = {
  { word = "[emulator:fail]", ending = "failed", error_code = "runtime_error",
    message = "The job failed (requested by [emulator:fail]).",
    help = "the job ends failed with error_code runtime_error" },
  { word = "[emulator:unsafe]", ending = "failed", error_code = "prompt_unsafe",
    message = "The prompt was flagged as unsafe.",
    help = "the job ends failed with error_code prompt_unsafe" },
  { word = "[emulator:stuck]", ending = "stuck",
    help = "the job stays running forever, progress stops at 50" },
  -- JobPollPayload lists `timeout` as a status of its own; the error_code is
  -- ColligoErrorCodeAsyncV3's timeout_error [GUESS: the document shows none].
  { word = "[emulator:timeout]", ending = "timeout", error_code = "timeout_error",
    message = "The job timed out (requested by [emulator:timeout]).",
    help = "the job ends with status timeout (a cancel then answers 410 job_timeout)" },
}

-- Cluster part of job URNs, shaped like Adobe's "eso851211".
jobs.CLUSTER = "emu851000"

local function magic_for(prompt)
  if type(prompt) ~= "string" then return nil end
  for _, m in ipairs(jobs.MAGIC) do
    if prompt:find(m.word, 1, true) then return m end
  end
  return nil
end

-- spec = {prompt=, result=function(job) -> result doc}; returns the job.
function jobs.create(app, spec)
  local uuid = util.uuid4()
  local job = {
    uuid = uuid,
    id = "urn:ff:jobs:" .. jobs.CLUSTER .. ":" .. uuid,
    created = native.now(),
    duration = app.config.job_seconds,
    magic = magic_for(spec.prompt),
    result = spec.result,
  }
  app.jobs[uuid] = job
  return job
end

-- Accepts the URN or the bare id, as Adobe's status and cancel paths do.
function jobs.find(app, id)
  local uuid = id:match("^urn:ff:jobs:[^:]+:(.+)$")
  local job = app.jobs[uuid or id]
  if job and uuid and job.id ~= id then return nil end
  return job
end

local function settle_seconds(job)
  return math.min(jobs.TIMELINE.cancel_cap, jobs.TIMELINE.cancel_share * job.duration)
end

-- status, progress at time `now`. A cancelled job says `cancelled`, two Ls,
-- as JobPollPayload's enum and every 2026 example spell it [SPEC26]; the
-- older AsyncTaskResponseV3 enum had `canceled` (API-NOTES 10.4).
function jobs.state(job, now)
  local T = jobs.TIMELINE
  if job.canceled_at then
    return now - job.canceled_at < settle_seconds(job) and "cancel_pending" or "cancelled"
  end
  local e, d = now - job.created, job.duration
  local stuck = job.magic and job.magic.ending == "stuck"
  if e < T.pending_share * d then return "pending" end
  if e < d or stuck then
    local p = math.min(99, math.floor(100 * e / d))
    if stuck then p = math.min(p, T.stuck_progress) end
    return "running", p
  end
  if job.magic and (job.magic.ending == "failed" or job.magic.ending == "timeout") then
    return job.magic.ending
  end
  return "succeeded"
end

-- When the emulator forgets a job: its output URLs' lifetime (--url-seconds)
-- after it ended, as Adobe's pre-signed URLs stop working then [GUESS: Adobe
-- does not say how long a status URL answers]. A stuck job ends, for this
-- purpose, when it would have finished.
function jobs.expires_at(app, job)
  local ended = job.canceled_at and job.canceled_at + settle_seconds(job) or job.created + job.duration
  return ended + app.config.url_seconds
end

-- Drops every job past its expiry, with its outputs (signed or not: the
-- URLs of a job nobody polled were never issued); outputs.sweep drops the
-- outputs of the sync paths, which belong to no job.
function jobs.sweep(app, now)
  for uuid, job in pairs(app.jobs) do
    if now >= jobs.expires_at(app, job) then
      app.jobs[uuid] = nil
      for _, rec in ipairs(job.outputs or {}) do app.outputs[rec.id] = nil end
    end
  end
end

-- The moment a finished job's result came to exist (its URLs are signed then).
function jobs.finished_at(job)
  return job.created + job.duration
end

-- AsyncTaskResponseV3, or AsyncApiErrorV3 for failed jobs.
function jobs.document(app, job, now)
  local status, progress = jobs.state(job, now)
  local doc = { jobId = job.id, status = status, progress = progress }
  if status == "succeeded" then
    doc.result = job.result(app, job)
  elseif status == "cancelled" then
    -- [DOC26 object-composite guide]: a cancelled job carries this code.
    doc.error_code = "job_cancelled"
  elseif status == "failed" or status == "timeout" then
    doc.error_code = job.magic.error_code
    doc.message = job.magic.message
  end
  return doc
end

function jobs.links(app, job)
  local base = app.public_url
  local status_url = base .. "/v3/status/" .. job.id
  local cancel_url = base .. "/v3/cancel/" .. job.id
  return status_url, cancel_url,
    string.format('<%s>; rel="result", <%s>; rel="cancel"', status_url, cancel_url)
end

-- 202 AsyncAcceptResponseV3 with its Link header.
function jobs.accepted(app, job)
  local status_url, cancel_url, link = jobs.links(app, job)
  return errors.json(202, { jobId = job.id, statusUrl = status_url, cancelUrl = cancel_url },
    { Link = link })
end

-- 202 (upscale) or 200 (Image 5) with the links shape: AsyncTaskResponse /
-- PreciseUpscaleAcceptResponseV3, {links = {result, cancel}, progress}. The
-- document declares no Link header on these paths, so none is sent.
function jobs.accepted_links(app, job, status)
  local status_url, cancel_url = jobs.links(app, job)
  return errors.json(status, { links = { result = { href = status_url }, cancel = { href = cancel_url } },
    progress = 0 })
end

local function unknown()
  return errors.firefly(404, "unknown_job_id", "The job id is unknown.")
end

-- GET /v3/status/{jobId}
function jobs.status(app, ctx, _req, id)
  local job = jobs.find(app, id)
  if job == nil then return unknown() end
  ctx.job_id = job.id
  local _, _, link = jobs.links(app, job)
  return errors.json(200, jobs.document(app, job, native.now()), { Link = link })
end

-- PUT /v3/cancel/{jobId}
function jobs.cancel(app, ctx, _req, id)
  local job = jobs.find(app, id)
  if job == nil then return unknown() end
  ctx.job_id = job.id
  local now = native.now()
  local status = jobs.state(job, now)
  -- ColligoAsyncCancelErrorCodeV3 and the 410 Gone the document declares:
  -- a timed-out job is gone (job_timeout), not completed (API-NOTES 10.2).
  if status == "timeout" then
    return errors.firefly(410, "job_timeout", "The job timed out.")
  elseif status == "succeeded" or status == "failed" then
    return errors.firefly(409, "job_completed", "The job was already completed.")
  elseif status == "cancel_pending" or status == "cancelled" then
    return errors.firefly(409, "job_already_canceled", "The job was already canceled.")
  end
  job.canceled_at = now
  return errors.json(200, {})
end

-- The generate-style result: size, one output per seed, contentClass echo.
function jobs.image_result(spec)
  return function(app, job)
    local list = {}
    for i, seed in ipairs(spec.seeds) do
      list[i] = { seed = seed, image = { url = outputs.url(app, job.outputs[i], jobs.finished_at(job)) } }
    end
    return {
      size = { width = spec.width, height = spec.height },
      outputs = list,
      contentClass = spec.content_class,
      promptHasDeniedWords = false,
      promptHasBlockedArtists = false,
    }
  end
end

return jobs
