-- firefly: Adobe Firefly Services from Lua. This file is the public API of
-- DESIGN.md: firefly.new, one method per Firefly operation, ff:job, ff:step
-- and ff:timeout for host loops, firefly.run and ff:map for coroutines.
-- The C core (firefly.core) does the transport; this layer validates, builds
-- request bodies, and turns the core's events into jobs and results.

local core = require "firefly.core"
local errors = require "firefly.errors"
local job = require "firefly.job"
local models = require "firefly.models"
local operations = require "firefly.operations"
local options = require "firefly.options"
local pipeline = require "firefly.pipeline"
local scheduler = require "firefly.scheduler"
local submit = require "firefly.submit"
local upload = require "firefly.upload"
local validate = require "firefly.validate"

local version = require "firefly.version"

local firefly = { _VERSION = "firefly " .. version, errors = errors }

local Client = {}
Client.__index = Client

local CALL_OPTIONS = { model_version = "string", timeout = "number", on_progress = "function", wait = "boolean",
                       cache = "boolean", journal = "boolean", max_retries = "number", validate = "string" }
firefly._call_options = CALL_OPTIONS -- for tools/reference.lua (types and manual)

local function log(self, level, fmt, ...)
  local want = self._opts.log
  if want == "debug" or (want == "info" and level == "info") then
    io.stderr:write("firefly: ", fmt:format(...), "\n")
  end
end

function Client:_log(level, fmt, ...) return log(self, level, fmt, ...) end

function firefly.new(opts)
  local o = options.resolve(opts)
  -- The core checks again what only it can judge (which URLs may carry credentials): its
  -- refusal is the user's error, raised at the user's call, without the core's name or position.
  local ok, c = pcall(core.new, {
    client_id = o.client_id, client_secret = o.client_secret, access_token = o.access_token,
    scopes = o.scopes, ims_url = o.ims_url, ca_file = o.ca_file, proxy = o.proxy,
    -- Where the key and token may go (src/hosts.h): api_url's origin, https *.adobe.io, these.
    api_url = o.api_url, api_hosts = table.concat(o.api_hosts or {}, ","),
    connect_timeout = o.connect_timeout, request_timeout = o.request_timeout,
    stall_timeout = o.stall_timeout, poll_first = o.poll_interval, poll_max = o.poll_max,
    max_retries = o.max_retries, retry_after_cap = o.retry_after_cap,
    retry_unknown_outcome = o.retry_unknown_outcome,
    max_download = o.max_download, min_download_rate = o.min_download_rate,
    plain_http_downloads = o.api_url:match("^http://") ~= nil, -- the user chose plain HTTP (an emulator)
    rate_per_minute = o.rate_limit and o.rate_limit.per_minute,
    rate_per_day = o.rate_limit and o.rate_limit.per_day,
    user_agent = o.user_agent or ("firefly-lua/" .. version .. " (" .. _VERSION .. ")"),
    debug = o.log == "debug" and 1 or 0,
  })
  if not ok then
    error("firefly.new: " .. tostring(c):gsub("^[^\n]-:%d+: ", ""):gsub("^firefly%.core%.new: ", ""), 2)
  end
  local self = setmetatable({ _core = c, _opts = o, _pending = {}, _npending = 0 }, Client)
  self._warn_fn = function(text) self:_warn(text) end -- what inputs.check is handed, made once
  return self
end

-- ---- the engine, from Lua ----

function Client:_clock()
  return core.now()
end

function Client:_track(handle, obj)
  self._pending[handle] = obj
  self._npending = self._npending + 1
  scheduler.track(self, true)
  return obj
end

-- When the engine has nothing in flight but Lua still waits for some of its
-- operations, their last event was lost: they end with an error now, rather
-- than leaving a waiter to step an idle engine forever.
function Client:_reap()
  if self._npending == 0 or self._core:active() > 0 then return end
  for handle, obj in pairs(self._pending) do
    self._pending[handle] = nil
    obj.err = errors.new { kind = "transport", job_id = obj.id,
      message = "the engine has nothing in flight for this operation (its last event was lost)" }
    obj.finished = true
    scheduler.wake(obj)
    if obj._then then obj._then(nil, obj.err) end -- an upload: its job ends too
  end
  self._npending = 0
end

-- One step of this client's engine through the one driver (lua/firefly/scheduler.lua).
function Client:_pump(wait)
  return scheduler.step(self, wait)
end

-- Host loops: advance without blocking (or up to `wait` seconds) and get
-- every event queued since the last ff:step, whoever's wait produced it:
-- {type = "accepted"|"status"|"done"|"error", job = ..., status, progress, err}.
-- A callback that raised is raised here, by the call that ran it, once; the
-- events stay queued for the next step.
function Client:step(wait)
  job.check_seconds("ff:step", "wait", wait)
  scheduler.open_queue(self)
  local raised = self:_pump(wait or 0)
  if raised then raised:_reraise() end
  return scheduler.drain(self)
end

-- Seconds until the client next needs a step; nil when nothing is in flight.
function Client:timeout()
  if self._closed then return nil end -- nothing is pending, nor ever will be: a host loop ends
  if scheduler.queued(self) then return 0 end -- events wait for the host's next step
  return self._core:timeout()
end

-- The client is a pollable (cqueues' sense): a host's loop waits until pollfd()
-- is readable or timeout() seconds pass, then calls ff:step(0). pollfd() is an
-- epoll descriptor holding every transfer's socket and the next deadline; nil
-- where the platform has no epoll (step on timeout() there).
function Client:pollfd()
  return self._core:pollfd()
end

function Client:events()
  return "r"
end

function Client:stats()
  local s = self._core:stats()
  s.pending = self._npending
  return s
end

function Client:close()
  if self._closed then return end
  self._closed = true
  for handle, obj in pairs(self._pending) do
    obj.err = errors.new { kind = "canceled", message = "the client was closed" }
    obj.finished = true
    scheduler.wake(obj)
    if obj._then then obj._then(nil, obj.err) end -- an upload: its job ends too
    self._pending[handle] = nil
  end
  self._npending = 0
  scheduler.track(self, false)
  if (self._parked or 0) == 0 then self:_close_core() end -- else the last foreign wait closes it
end

function Client:_close_core()
  self._core:close()
end
Client.__close = Client.close
Client.__gc = Client.close

-- ---- operations ----

local function check_call(method, body, opts)
  submit.check_body(method, body)
  opts = options.check("ff:" .. method, opts, CALL_OPTIONS, 4)
  if opts.validate ~= nil and not options.VALIDATE[opts.validate] then
    error(("ff:%s: option 'validate' must be 'strict', 'warn' or 'off', got '%s'"):format(method, opts.validate), 3)
  end
  return opts
end

-- A validation warning, to the user's on_warning or else stderr.
function Client:_warn(text)
  local hook = self._opts.on_warning
  if hook then return hook(text) end
  io.stderr:write("firefly: warning: ", text, "\n")
end

-- Judges a body by the call's validate mode: the error to return when it is
-- refused ("strict"), nil when it may be sent; every warning and, in "warn"
-- mode, every broken rule is reported through _warn.
function Client:_judge(op, body, model_version, mode)
  if mode == "off" then return nil end
  local list, warnings = validate._review(op.name, body, model_version and { model_version = model_version } or nil)
  if warnings then
    for _, w in ipairs(warnings) do self:_warn(op.method .. ": " .. validate.describe(w)) end
  end
  if not list then return nil end
  if mode == "warn" then
    for _, e in ipairs(list) do
      self:_warn(op.method .. ": " .. validate.describe(e) .. " (sent anyway: validate = \"warn\")")
    end
    return nil
  end
  return errors.validation(list, validate)
end

-- The one path every generating method takes: check the call, pick the
-- operation the model version routes to (firefly.operations), and hand it
-- to lua/firefly/submit.lua (identity, cache, journal, uploads, submit).
function Client:_submit(method, body, opts)
  opts = check_call(method, body, opts)
  if self._closed then error("attempt to use a closed firefly client", 2) end
  return submit.run(self, method, operations.for_method(method, opts.model_version), body, opts)
end

-- One method per Firefly operation (DESIGN.md), each a call into _submit; the
-- path, schema and answer shapes are in lua/firefly/operations.lua.

-- POST /v3/images/generate-async; with model_version = "image5", POST /v4/images/generate-async.
function Client:generate_images(body, opts) return self:_submit("generate_images", body, opts) end
-- POST /v3/images/generate-similar-async
function Client:generate_similar_images(body, opts) return self:_submit("generate_similar_images", body, opts) end
-- POST /v3/images/expand-async
function Client:expand_image(body, opts) return self:_submit("expand_image", body, opts) end
-- POST /v3/images/fill-async
function Client:fill_image(body, opts) return self:_submit("fill_image", body, opts) end
-- POST /v3/images/generate-object-composite-async
function Client:generate_object_composite(body, opts) return self:_submit("generate_object_composite", body, opts) end
-- POST /v3/images/precise-composite
function Client:precise_composite(body, opts) return self:_submit("precise_composite", body, opts) end
-- POST /v3/images/adaptive-composite
function Client:adaptive_composite(body, opts) return self:_submit("adaptive_composite", body, opts) end
-- POST /v3/images/upscale (x-model-version precise_upsampler_v1 unless told otherwise)
function Client:upscale_image(body, opts) return self:_submit("upscale_image", body, opts) end
-- POST /v3/videos/generate (x-model-version video1_standard unless told otherwise)
function Client:generate_video(body, opts) return self:_submit("generate_video", body, opts) end

-- Re-attaches to a job submitted earlier, by its jobId (URN or bare) or statusUrl.
function Client:job(id_or_url, opts)
  if type(id_or_url) ~= "string" or id_or_url == "" then
    error("ff:job: expects a job id or a status URL", 2)
  end
  if id_or_url:find("\0", 1, true) then error("ff:job: the job id or status URL contains a NUL byte", 2) end
  opts = options.check("ff:job", opts, CALL_OPTIONS, 3)
  if self._closed then error("attempt to use a closed firefly client", 2) end
  if opts.wait == false then scheduler.open_queue(self) end -- a host will step it
  local j, err = self:_attach(id_or_url, opts)
  if not j or opts.wait == false then return j, err end
  return j:wait()
end

-- The job at id_or_url, tracked, not waited for (also the journal's re-attach).
function Client:_attach(id_or_url, opts)
  local status_url, cancel_url, id
  if id_or_url:match("^https?://") then
    status_url = id_or_url
    id = id_or_url:match("/v3/status/([^/?]+)")
    cancel_url = id and id_or_url:gsub("/v3/status/", "/v3/cancel/", 1)
  else
    id = id_or_url
    status_url = self._opts.api_url .. "/v3/status/" .. id
    cancel_url = self._opts.api_url .. "/v3/cancel/" .. id
  end
  local handle, err = self._core:attach(status_url, cancel_url, id, opts.timeout or self._opts.timeout)
  if not handle then return nil, errors.from_core(err) end
  local j = self:_track(handle, job.new(self, handle, "job", opts))
  j.id, j.status_url, j.cancel_url, j.status = id, status_url, cancel_url, "pending"
  return j
end

-- ---- uploads and custom models (lua/firefly/upload.lua, models.lua) ----

local UPLOAD_OPTIONS = { timeout = "number" }

-- Uploads a JPEG, PNG, WEBP, TIFF or JPEG XL image (a path, or the bytes); returns the upload id and
-- {id, images, request_id}. opts: timeout.
function Client:upload_image(path_or_bytes, opts)
  if self._closed then error("attempt to use a closed firefly client", 2) end
  if type(path_or_bytes) ~= "string" or path_or_bytes == "" then
    error("ff:upload_image: expects a file path or the image's bytes", 2)
  end
  opts = options.check("ff:upload_image", opts, UPLOAD_OPTIONS, 3)
  return upload.run(self, path_or_bytes, opts)
end

-- One page of custom models; query: start, limit, sortBy (Adobe's document enum:
-- assetName, createdDate, modifiedDate), publishedState. opts: validate.
function Client:list_custom_models(query, opts)
  if self._closed then error("attempt to use a closed firefly client", 2) end
  if query ~= nil and type(query) ~= "table" then error("ff:list_custom_models: query must be a table", 2) end
  local mode = opts and opts.validate
  if mode ~= nil and not options.VALIDATE[mode] then
    error("ff:list_custom_models: option 'validate' must be 'strict', 'warn' or 'off'", 2)
  end
  return models.list(self, query, mode)
end

-- Every custom model over all pages: `for m in ff:custom_models{sortBy = "assetName"} do`.
function Client:custom_models(query)
  if self._closed then error("attempt to use a closed firefly client", 2) end
  if query ~= nil and type(query) ~= "table" then error("ff:custom_models: query must be a table", 2) end
  return models.each(self, query)
end

-- A single request in flight, waited for like a job.
function Client:_transfer(handle)
  return self:_track(handle, job.transfer(self, handle))
end

-- url comes from the server's JSON: a number or a table is not a URL, and
-- the core fetches only https (http where api_url is plain HTTP itself).
function Client:_download(url, path)
  if type(url) ~= "string" then
    return nil, errors.new { kind = "http",
      message = ("the server's output URL is a %s (%s), not a URL: it is not fetched")
        :format(type(url), tostring(url)) }
  end
  local handle, err = self._core:download(url, path)
  if not handle then return nil, errors.from_core(err) end
  return self:_track(handle, job.transfer(self, handle))
end

-- ---- coroutines ----

-- A generating call made inside another scheduler's coroutine (copas,
-- cqueues, luv) waits through fn(pollable) instead of blocking the thread:
-- firefly.set_wait(require "firefly.wait.cqueues"); nil restores blocking.
function firefly.set_wait(fn)
  return scheduler.set_wait(fn)
end

-- Runs fn as a coroutine, driving the engine until it returns; its results are returned.
function firefly.run(fn, ...)
  if type(fn) ~= "function" then error("firefly.run: expects a function", 2) end
  local co, box = scheduler.spawn(fn, ...)
  scheduler.loop(function() return coroutine.status(co) == "dead" end)
  return (table.unpack or unpack)(box.results, 1, box.n)
end

-- Calls fn(item, i) for every item, at most `concurrency` at once, each in
-- its own coroutine; see lua/firefly/pipeline.lua. Returns results in input
-- order, errors by index, and a summary {total, done, failed, cached, canceled, elapsed}.
function Client:map(items, fn, opts)
  return pipeline.map(self, items, fn, opts)
end

-- Cancels every job in flight and stops every running ff:map from starting more.
function Client:cancel_all()
  return pipeline.cancel_all(self)
end

-- Every public method checks its receiver first: `ff.generate_images{...}`
-- (a dot for a colon) would otherwise fail far inside, in other words; and
-- a closed client raises at the caller's line, not inside the module. These
-- answer on a closed client too: close again, timeout (nil), events.
local AFTER_CLOSE = { close = true, timeout = true, events = true }
for name, fn in pairs(Client) do
  if type(fn) == "function" and not name:match("^_") then
    local open_only = not AFTER_CLOSE[name]
    Client[name] = function(self, ...)
      if getmetatable(self) ~= Client then
        error(("ff:%s: call it with a colon, ff:%s(...), not ff.%s(...)"):format(name, name, name), 2)
      end
      if open_only and self._closed then error("attempt to use a closed firefly client", 2) end
      return fn(self, ...)
    end
  end
end
Client.__close = Client.close
Client.__gc = Client.close

return firefly
