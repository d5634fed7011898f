-- firefly.emulator: the behaviour of the firefly-emulator executable.
-- main.c calls configure(args) once, app:listening(url) once, then
-- app:handle(req) for every request, always from one thread.
local control = require "firefly.emulator.control"
local composites = require "firefly.emulator.composites"
local custom_models = require "firefly.emulator.custom_models"
local errors = require "firefly.emulator.errors"
local faults = require "firefly.emulator.faults"
local flags = require "firefly.emulator.flags"
local gateway = require "firefly.emulator.gateway"
local image5 = require "firefly.emulator.image5"
local images = require "firefly.emulator.images"
local ims = require "firefly.emulator.ims"
local jobs = require "firefly.emulator.jobs"
local native = require "firefly.emulator.native"
local operations = require "firefly.operations"
local outputs = require "firefly.emulator.outputs"
local ratelimit = require "firefly.emulator.ratelimit"
local sync = require "firefly.emulator.sync"
local upscale = require "firefly.emulator.upscale"
local uploads = require "firefly.emulator.uploads"
local util = require "firefly.emulator.util"
local video = require "firefly.emulator.video"

local M = {}

-- The handler of each operation in the registry (firefly.operations), which
-- alone spells the paths. `limit` names the 429 body family when --rate-limit
-- counts the operation (ratelimit.lua); `family = "reason"` answers gateway
-- refusals in the custom-models error family. Every operation sits behind the
-- gateway; a deprecated one (the sync v3 paths) says so in a Deprecation
-- header on every answer, refusals included.
M.handlers = {
  generate_images = { images.generate_async, limit = "v3" },
  generate_images_v5 = { image5.generate, limit = "v3" },
  generate_similar_images = { images.generate_similar_async, limit = "v3" },
  expand_image = { images.expand_async, limit = "v3" },
  fill_image = { images.fill_async, limit = "v3" },
  generate_object_composite = { images.generate_object_composite_async, limit = "v3" },
  precise_composite = { composites.precise, limit = "v3" },
  adaptive_composite = { composites.adaptive, limit = "v3" },
  upscale_image = { upscale.handle, limit = "v3" },
  generate_video = { video.generate, limit = "video" },
  upload_image = { uploads.upload, limit = "upload" },
  list_custom_models = { custom_models.list, limit = "reason", family = "reason" },
  job_status = { jobs.status },
  cancel_job = { jobs.cancel },
  generate_images_sync = { sync.generate, limit = "v3" },
  generate_similar_images_sync = { sync.generate_similar, limit = "v3" },
  expand_image_sync = { sync.expand, limit = "v3" },
  fill_image_sync = { sync.fill, limit = "v3" },
  generate_object_composite_sync = { sync.generate_object_composite, limit = "v3" },
}

-- The emulator's own paths, which are not Adobe's operations: the IMS token
-- endpoint, pre-signed outputs and the control endpoints for tests.
M.routes = {
  { "POST", "^/ims/token/v3$", ims.token },
  { "GET", "^/outputs/([%w%-]+)%.(%w+)$", outputs.serve },
  { "POST", "^/__emulator/revoke%-tokens$", control.revoke_tokens },
  { "GET", "^/__emulator/health$", control.health },
}

-- Every operation has a handler, and every handler an operation: a path
-- added to the registry and not here stops the emulator at start.
for _, op in ipairs(operations.list) do
  assert(M.handlers[op.name], "firefly-emulator: no handler for operation " .. op.name)
end
for name in pairs(M.handlers) do
  assert(operations.get(name), "firefly-emulator: a handler for unknown operation " .. name)
end

-- Paths behind the Adobe I/O gateway even when no operation matches: the
-- gateway answers before the service knows whether the path exists.
M.GATEWAY_PREFIXES = { "^/v2/", "^/v3/", "^/v4/" }

M.METHODS = { "GET", "POST", "PUT", "DELETE", "PATCH" }

local App = {}
App.__index = App

function M.configure(args)
  local cfg = flags.parse(args)
  if cfg.seed then math.randomseed(cfg.seed) end
  return setmetatable({
    config = cfg,
    faults = faults.new(cfg),
    public_url = cfg.public_url,
    secret = util.random_bytes(32),
    tokens = {},
    jobs = {},
    outputs = {},
    png_cache = { n = 0 },
    uploads = {},
    rate = {},
    custom_models = custom_models.seed(),
  }, App)
end

function App:usage()
  return flags.usage(jobs.MAGIC) .. faults.usage()
end

function App:listening(url)
  self.url = url
  self.public_url = (self.config.public_url or url):gsub("/+$", "")
  self.output_url = self.config.output_url and self.config.output_url:gsub("/+$", "") or self.public_url
end

local function behind_gateway(path)
  for _, p in ipairs(M.GATEWAY_PREFIXES) do
    if path:find(p) then return true end
  end
  return false
end

-- Finds the operation (or the emulator's own route) and runs it; returns a
-- response {status, headers, body} and the operation's registry entry.
local function dispatch(app, ctx, req)
  local op, caps = operations.find(req.method, req.path)
  if op then
    local h = M.handlers[op.name]
    local denied = gateway.check(app, req)
    if denied then return h.family == "reason" and gateway.as_reason(denied) or denied, op end
    local limited = ratelimit.check(app, req, h.limit)
    if limited then return limited, op end
    return h[1](app, ctx, req, table.unpack(caps)), op
  end
  local allowed = {}
  for _, route in ipairs(M.routes) do
    local found = { req.path:match(route[2]) }
    if found[1] ~= nil then
      if route[1] == req.method then return route[3](app, ctx, req, table.unpack(found)) end
      allowed[#allowed + 1] = route[1]
    end
  end
  for _, m in ipairs(M.METHODS) do
    if m ~= req.method and operations.find(m, req.path) then allowed[#allowed + 1] = m end
  end
  if behind_gateway(req.path) then
    local denied = gateway.check(app, req)
    if denied then return denied end
  end
  if #allowed > 0 then return errors.method_not_allowed(req.method, req.path, allowed) end
  return errors.not_found(req.method, req.path)
end

-- How often stale jobs, outputs and uploads are looked for: memory stays
-- bounded by what is alive, in a session of any length.
M.SWEEP_SECONDS = 1

local function sweep(app, now)
  if app.swept and now - app.swept < M.SWEEP_SECONDS then return end
  app.swept = now
  jobs.sweep(app, now)
  outputs.sweep(app, now)
  uploads.sweep(app, now)
end

-- Returns status, headers, body and the JSON log line (no secrets in it).
function App:handle(req)
  local started = native.now()
  sweep(self, started)
  -- x-request-id: the 2026 document declares it only as a request header of
  -- the custom-models listing, "automatically generated by the server if not
  -- explicitly set" (API-NOTES 10.4). The emulator takes it on every path,
  -- makes one up when absent and echoes it on every answer [GUESS: Adobe's
  -- gateway echoes it; no response declares it].
  local request_id = req.headers["x-request-id"]
  if request_id == nil or request_id == "" then request_id = util.uuid4() end
  local ctx = {}
  -- An output request says whether credentials came with it, and to which
  -- host name, even when a fault answers it (a redirect).
  if req.path:find("^/outputs/") then
    ctx.auth_header = req.headers["authorization"] ~= nil or req.headers["x-api-key"] ~= nil
    ctx.host = req.headers["host"]
  end
  faults.decide(self, ctx, req.method, req.path)
  local ok, res, route = true, faults.before(self, ctx, req)
  if res == nil then ok, res, route = xpcall(dispatch, debug.traceback, self, ctx, req) end
  if not ok then
    io.stderr:write("firefly-emulator: ", req.method, " ", req.path, ": ", tostring(res), "\n")
    res = errors.firefly(500, "runtime_error", "The emulator failed to handle the request.")
  end
  res.headers = res.headers or {}
  res.headers["x-request-id"] = request_id
  if route and route.deprecated then res.headers.Deprecation = sync.DEPRECATED_AT end
  local action = faults.after(self, ctx, req, res)
  -- Each output served is logged with its digest: a saved copy can be checked.
  if self.config.log and res.status == 200 and req.path:find("^/outputs/") then
    ctx.sha256 = native.sha256(res.body or "")
  end
  -- And each API POST with its body's: a resent submit shows as a repeated digest.
  local body_sha256
  if self.config.log and req.method == "POST" and req.path:find("^/v[23]/") then
    body_sha256 = native.sha256(req.body)
  end
  local line = util.json({
    time = started, method = req.method, path = req.path, status = res.status,
    request_id = request_id, job_id = ctx.job_id, auth_header = ctx.auth_header, host = ctx.host,
    fault = ctx.fault, sha256 = ctx.sha256, body_sha256 = body_sha256,
  })
  return res.status, res.headers, res.body or "", line, action
end

-- --faults: called by main.c before a request's body is read; returns the log
-- line when the connection is to be closed unanswered, else nil.
function App:refuse(method, path)
  if not faults.refuse(self, method, path) then return nil end
  return util.json({ time = native.now(), method = method, path = path, fault = "refuse" })
end

return M
