-- Operations in flight, as Lua sees them. A Job is a Firefly async job
-- (job.id, job.status, job.progress, job:wait, job:cancel); a Transfer is a
-- single request or download. Both are finished by events from ff:step and
-- waited for the same way: by yielding inside firefly.run / ff:map, by
-- stepping the engine anywhere else.

local errors = require "firefly.errors"
local result = require "firefly.result"
local scheduler = require "firefly.scheduler"

local job = {}

-- Waits until the operation ends (or a callback of its own raised, which is
-- raised here, once), through the one driver; the wait takes this
-- operation's completion off the client's event queue, and nothing else. A
-- lost last event cannot make it spin: the client ends what the engine no
-- longer has in flight (Client:_reap).
local function wait_for(self, timeout)
  if not scheduler.wait(self, timeout) then
    return nil, errors.new { kind = "timeout", job_id = self.id,
      message = ("still running after waiting %g s (the job goes on)"):format(timeout) }
  end
  scheduler.consume(self)
  if self._raised ~= nil then self:_reraise() end
  if self.err then return nil, self.err end
  return self.result
end

-- A callback of this operation raised: the error is its own, raised once by
-- whoever waits for it (or by the ff:step that ran it); the job is cancelled,
-- since nobody is left to take its result, and calls no callback again.
local function callback_raised(self, e)
  self._on_progress = nil
  if self._raised == nil and not self._raised_once then self._raised = e end
  if not self.finished and (self._handle or self._uploads) then self:cancel() end
  scheduler.wake(self)
end

local function reraise(self)
  local e = self._raised
  self._raised, self._raised_once = nil, true
  error(e, 0)
end

-- Handling an event raised (a server document this layer could not read):
-- the operation ends with that as its error, and nothing else is touched.
-- What is wrong with a succeeded job's result, if anything: every output
-- must be an object (an output that is a string has no url and no save).
local function readable(r)
  if r == nil then return nil end
  if type(r) ~= "table" then return "its result is a " .. type(r) .. ", not an object" end
  if r.outputs ~= nil and type(r.outputs) ~= "table" then return "its outputs are not a list" end
  for i, out in ipairs(r.outputs or {}) do
    if type(out) ~= "table" then return ("its outputs[%d] is a %s, not an object"):format(i, type(out)) end
  end
end

local function broken(self, e)
  self.result = nil
  self.err = errors.new { kind = "http", job_id = self.id,
    message = "the server's answer could not be read: " .. tostring(e) }
  if self.status ~= nil then self.status = "failed" end -- a Job's: a result it cannot read is no success
  self.finished = true
  scheduler.wake(self)
end

-- ---- Job ----

-- Adobe spells it both ways (JobPollPayload "cancelled", the 2025 enum
-- "canceled"); users see one: "canceled", like the error kind.
local function spelled(status)
  return status == "cancelled" and "canceled" or status
end
job.spelled = spelled

-- A progress as result.integers gives it: 42, not 42.0, on Lua 5.3+ (without a table per event).
local tointeger = math.tointeger
local function integer(v)
  return tointeger and tointeger(v) or v
end

-- Errors that end a job with a status document of its own.
local FROM_DOCUMENT = { job_failed = true, canceled = true, timeout = true }

-- A job that ends with an error ends in a final status too, whatever it had
-- reached: one refused at its submit or its upload, given up after its
-- retries or unreadable is "failed" (its err says why, and err.job_id, when
-- it has one, re-attaches); a cancelled one "canceled", one past the
-- service's deadline "timeout". job.status then never says "submitting" of a
-- finished job.
local FINAL = { succeeded = true, failed = true, canceled = true, timeout = true }
local function final_status(self, err)
  if not FINAL[self.status] then
    self.status = (err.kind == "canceled" or err.kind == "timeout") and err.kind or "failed"
  end
end

local Job = {}
Job.__index = Job

function job.new(client, handle, op, opts)
  return setmetatable({
    _client = client, _handle = handle, _on_progress = opts.on_progress,
    operation = op, status = "submitting", finished = false,
  }, Job)
end

-- A wait's seconds: nil, or a number from 0 up (math.huge included). NaN,
-- a negative number or a string raise at the caller's line, naming the argument.
function job.check_seconds(where, name, v)
  if v ~= nil and (type(v) ~= "number" or v ~= v or v < 0) then
    local shown = type(v) == "string" and ("%q"):format(v) or tostring(v)
    error(("%s: %s must be a non-negative number of seconds, got %s"):format(where, name, shown), 3)
  end
end

function Job:wait(timeout)
  job.check_seconds("job:wait", "timeout", timeout)
  return wait_for(self, timeout)
end

-- Asks Firefly to cancel; the job ends (canceled, or done if it won the race).
-- While its inputs upload, nothing was submitted yet: the uploads stop, and
-- the job ends canceled.
function Job:cancel()
  if self.finished then return false end
  if self._uploads then
    for _, xfer in ipairs(self._uploads) do xfer:cancel() end
    return true
  end
  return self._client._core:cancel(self._handle)
end

-- ---- a job whose inputs upload first ----

-- A job in status "uploading": nothing is submitted until its files are up
-- (lua/firefly/submit.lua starts them and calls _submitted or _failed).
-- uploaded and upload_size count the bytes of its uploads.
function job.uploading(client, op, opts, size)
  local j = job.new(client, nil, op, opts)
  j.status, j.uploaded, j.upload_size, j._uploads = "uploading", 0, size, {}
  return j
end

-- How far the uploads got (bytes of all of them): a "progress" event for the
-- host, as a save's or fetch's body growing makes one (bytes, total, percent;
-- job.progress stays Adobe's), and on_progress told.
function Job:_sent(bytes)
  if self.finished or bytes <= self.uploaded then return end
  self.uploaded = bytes
  local q = self._client._queue
  if q then
    q[#q + 1] = { type = "progress", job = self, status = self.status, bytes = bytes, total = self.upload_size,
                  progress = self.upload_size > 0 and math.floor(bytes * 100 / self.upload_size) or nil }
  end
  if self._on_progress then
    local ok, e = pcall(self._on_progress, self)
    if not ok then callback_raised(self, e) end
  end
end

-- Every file is up and the body went to the engine: the job goes on as any other.
function Job:_submitted(handle)
  self._uploads = nil
  if self.finished or self._raised ~= nil or self._raised_once then -- the submit is not wanted
    self._client._core:cancel(handle)
    return
  end
  self._handle, self.status = handle, "submitting"
  self._client:_track(handle, self)
  scheduler.post(self._client, self, "status")
end

-- An upload (or the submit after them) failed: the job ends with that error.
function Job:_failed(err)
  self._uploads = nil
  if self.finished then return end
  final_status(self, err)
  self.err, self.finished = err, true
  scheduler.post(self._client, self, "error")
  scheduler.wake(self)
end

function Job:__tostring()
  return ("firefly job %s (%s%s)"):format(self.id or "(not yet accepted)", self.status,
    self.progress and (" " .. self.progress .. "%") or "")
end

function Job:_event(ev)
  local t = ev.type
  if t == "accepted" then
    self.id, self.status_url, self.cancel_url = ev.job_id, ev.status_url, ev.cancel_url
    self.status = "pending"
    -- The links-shape accept (Image 5, upscale) says how far the job is already.
    if ev.progress then self.progress = integer(ev.progress) end
  elseif t == "status" then
    self.status, self.progress = spelled(ev.status), ev.progress and integer(ev.progress)
    -- Adobe's succeeded document has no progress; on_progress should still see 100.
    if ev.status == "succeeded" then self.progress = 100 end
  elseif t == "done" then
    self.status, self.progress = "succeeded", 100
    local data = type(ev.data) == "table" and ev.data or {}
    local bad = readable(data.result)
    if bad then return broken(self, bad) end
    self.result = result.new(self._client, data.result, self.id, ev.request_id)
    self.finished = true
  else
    local err = ev.err
    if FROM_DOCUMENT[err.kind] and type(err.body) == "table" and type(err.body.status) == "string" then
      self.status = spelled(err.body.status)
    end
    self.err = errors.from_core(err, { job_id = self.id or err.job_id })
    final_status(self, self.err)
    self.finished = true
  end
  if t == "accepted" and self._on_accept then self._on_accept(self) end
  if self._on_progress and (t == "status" or t == "accepted") then
    local ok, e = pcall(self._on_progress, self)
    if not ok then callback_raised(self, e) end
  end
  if self.finished then scheduler.wake(self) end
end

Job._broken, Job._reraise = broken, reraise

-- ---- Transfer ----

local Transfer = {}
Transfer.__index = Transfer

function job.transfer(client, handle)
  return setmetatable({ _client = client, _handle = handle, finished = false }, Transfer)
end

function Transfer:wait(timeout)
  job.check_seconds("op:wait", "timeout", timeout)
  return wait_for(self, timeout)
end

function Transfer:cancel()
  if self.finished then return false end
  return self._client._core:cancel(self._handle)
end

Transfer._broken, Transfer._reraise = broken, reraise

function Transfer:_event(ev)
  if ev.type == "sent" then -- an upload's body going on; it is not over
    if self._on_sent then self._on_sent(ev.sent) end
    return
  end
  if ev.type == "done" and self._finish then
    self.result, self.err = self._finish(ev) -- a save's checks, once the bytes are on disk
  elseif ev.type == "done" then
    self.result = ev
  elseif ev.type == "error" then
    self.err = errors.from_core(ev.err)
    if self._on_error then self.err = self._on_error(self.err) end
  end
  self.finished = self.result ~= nil or self.err ~= nil
  if self.finished then
    scheduler.wake(self)
    if self._then then self._then(self.result, self.err) end
  end
end

return job
