-- firefly.emulator: the behaviour of the firefly-emulator executable.
-- main.c calls configure(args) once, app:listening(url) once, then
-- app:handle(req) for every request, always from one thread.
local control = require "firefly.emulator.control"
local custom_models = require "firefly.emulator.custom_models"
local errors = require "firefly.emulator.errors"
local faults = require "firefly.emulator.faults"
local flags = require "firefly.emulator.flags"
local gateway = require "firefly.emulator.gateway"
local images = require "firefly.emulator.images"
local ims = require "firefly.emulator.ims"
local jobs = require "firefly.emulator.jobs"
local native = require "firefly.emulator.native"
local outputs = require "firefly.emulator.outputs"
local ratelimit = require "firefly.emulator.ratelimit"
local sync = require "firefly.emulator.sync"
local uploads = require "firefly.emulator.uploads"
local util = require "firefly.emulator.util"
local video = require "firefly.emulator.video"

local M = {}

-- The routing table. `pattern` is anchored and its captures become handler
-- arguments; `gateway = true` puts the API-key and token checks in front;
-- `limit` names the 429 body family when --rate-limit counts the route
-- (ratelimit.lua); `family = "reason"` answers gateway refusals in the
-- custom-models error family; `deprecated = true` puts a Deprecation header on
-- every answer of the route, refusals included. Adding an endpoint is adding a
-- line here.
M.routes = {
  { "POST", "^/ims/token/v3$", ims.token },
  { "POST", "^/v3/images/generate%-async$", images.generate_async, gateway = true, limit = "v3" },
  { "POST", "^/v3/images/generate%-similar%-async$", images.generate_similar_async, gateway = true, limit = "v3" },
  { "POST", "^/v3/images/expand%-async$", images.expand_async, gateway = true, limit = "v3" },
  { "POST", "^/v3/images/fill%-async$", images.fill_async, gateway = true, limit = "v3" },
  { "POST", "^/v3/images/generate%-object%-composite%-async$", images.generate_object_composite_async,
    gateway = true, limit = "v3" },
  { "POST", "^/v3/images/generate$", sync.generate, gateway = true, limit = "v3", deprecated = true },
  { "POST", "^/v3/images/generate%-similar$", sync.generate_similar, gateway = true, limit = "v3", deprecated = true },
  { "POST", "^/v3/images/expand$", sync.expand, gateway = true, limit = "v3", deprecated = true },
  { "POST", "^/v3/images/fill$", sync.fill, gateway = true, limit = "v3", deprecated = true },
  { "POST", "^/v3/images/generate%-object%-composite$", sync.generate_object_composite, gateway = true, limit = "v3",
    deprecated = true },
  { "POST", "^/v3/videos/generate$", video.generate, gateway = true, limit = "video" },
  { "POST", "^/v2/storage/image$", uploads.upload, gateway = true, limit = "upload" },
  { "GET", "^/v3/custom%-models$", custom_models.list, gateway = true, limit = "reason", family = "reason" },
  { "GET", "^/v3/status/([^/]+)$", jobs.status, gateway = true },
  { "PUT", "^/v3/cancel/([^/]+)$", jobs.cancel, gateway = true },
  { "GET", "^/outputs/([%w%-]+)%.(%w+)$", outputs.serve },
  { "POST", "^/__emulator/revoke%-tokens$", control.revoke_tokens },
  { "GET", "^/__emulator/health$", control.health },
}

-- Paths behind the Adobe I/O gateway even when no route matches: the gateway
-- answers before the service knows whether the path exists.
M.GATEWAY_PREFIXES = { "^/v2/", "^/v3/" }

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

-- Finds the route and runs it; returns a response {status, headers, body}
-- and the route (nil when none matched).
local function dispatch(app, ctx, req)
  local allowed = {}
  local gated = behind_gateway(req.path)
  for _, route in ipairs(M.routes) do
    local caps = { req.path:match(route[2]) }
    if caps[1] ~= nil then
      gated = gated or route.gateway
      if route[1] == req.method then
        if gated then
          local denied = gateway.check(app, req)
          if denied then return route.family == "reason" and gateway.as_reason(denied) or denied, route end
        end
        local limited = ratelimit.check(app, req, route.limit)
        if limited then return limited, route end
        return route[3](app, ctx, req, table.unpack(caps)), route
      end
      allowed[#allowed + 1] = route[1]
    end
  end
  if gated then
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
