-- Fault injection: --faults (random, at rates) and --faults-script (scripted,
-- per route). Every fault injected is named in the request's log line
-- (`fault`), so a test or the chaos run can count them.
--
--   --faults 429:0.1,500:0.05,reset:0.02
--       each request draws once (from --seed's generator) among the kinds that
--       apply to it; the rates are probabilities, summing to at most 1.
--   --faults-script 'POST /v3/images/generate-async=reset_after_accept,ok;GET /v3/status/*=500*2'
--       `;` separates routes; a route is METHOD and a path (`*` matches any
--       run of characters but `/`); its steps are used one per matching
--       request, in order (`kind*n` repeats one), then requests go through.
--       A request is matched by the first route that fits.
local errors = require "firefly.emulator.errors"
local native = require "firefly.emulator.native"
local util = require "firefly.emulator.util"

local faults = {}

-- Where a kind can happen: "any" request, a "submit" (POST /v3/...: it makes a
-- job), a "status" poll, an "output" download, the "ims" token endpoint, or a
-- "gateway" path. `stage`: "refuse" before the request is read, "before" the
-- handler (it never runs), "after" it (its effects stay, the answer changes).
faults.KINDS = {
  refuse = { where = "any", stage = "refuse",
    help = "close the connection before reading the request" },
  reset_after_accept = { where = "any", stage = "after",
    help = "handle the request (a submit creates its job), then close without answering" },
  reset = { where = "any", stage = "after",
    help = "send half the body, then close the connection" },
  stall = { where = "any", stage = "after",
    help = "send half the body, then go silent for --fault-stall-seconds, then close" },
  truncate = { where = "any", stage = "after",
    help = "promise more bytes (Content-Length) than are sent, then close" },
  badjson = { where = "any", stage = "after",
    help = "a JSON answer cut in half: its status is kept, its body is not JSON" },
  endless = { where = "any", stage = "after",
    help = "a JSON answer that never ends: {\"status\":\"running\",\"padding\":\"aaaa... streamed forever" },
  job_failed = { where = "submit", stage = "after",
    help = "the job is accepted, then fails with error_code runtime_error" },
  job_timeout = { where = "submit", stage = "after",
    help = "the job is accepted, then ends with status timeout (error_code timeout_error)" },
  stuck = { where = "submit", stage = "after",
    help = "the job is accepted and stays running, progress stops at 50" },
  expired = { where = "output", stage = "before",
    help = "the output URL answers 403 'Request has expired' (S3's XML)" },
  redirect = { where = "output", stage = "before",
    help = "the output URL answers 302 to the same URL on the other host name (127.0.0.1 <-> localhost)" },
  ims_down = { where = "ims", stage = "before",
    help = "the token endpoint answers 503" },
  ["401"] = { where = "gateway", stage = "before",
    help = "the gateway answers 401 401013 as for an expired token" },
}

-- HTTP statuses that may be injected by number, before the handler runs.
faults.STATUSES = { [408] = true, [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

local function kind_of(word)
  if faults.KINDS[word] then return word end
  local n = math.tointeger(tonumber(word))
  if n and faults.STATUSES[n] then return tostring(n) end
  return nil
end

local function stage_of(kind)
  local k = faults.KINDS[kind]
  return k and k.stage or "before"
end

local function applies(kind, class)
  local k = faults.KINDS[kind]
  local where = k and k.where or "any"
  if where == "any" then return true end
  return class[where] == true
end

-- What a request is, for the kinds that apply only to some.
local function classify(method, path)
  return {
    control = path:find("^/__emulator/") ~= nil,
    ims = method == "POST" and path == "/ims/token/v3",
    submit = method == "POST" and path:find("^/v[34]/") ~= nil,
    status = method == "GET" and path:find("^/v3/status/") ~= nil,
    output = method == "GET" and path:find("^/outputs/") ~= nil,
    gateway = path:find("^/v[234]/") ~= nil,
  }
end

-- A small generator of its own (xorshift64*), so that fault draws follow
-- --seed and do not disturb the ids and image seeds drawn from math.random.
local function rng(seed)
  local state = seed ~= 0 and seed or 0x2545F4914F6CDD1D
  return function()
    state = state ~ (state >> 12)
    state = state ~ (state << 25)
    state = state ~ (state >> 27)
    local v = (state * 0x2545F4914F6CDD1D) >> 11 -- 53 bits
    return v / 9007199254740992.0
  end
end

local function parse_rates(text)
  local list, total = {}, 0
  for item in text:gmatch("[^,]+") do
    local word, rate = item:match("^%s*([%w_]+)%s*:%s*([%d.]+)%s*$")
    local kind = word and kind_of(word)
    rate = tonumber(rate)
    if not kind or not rate then
      error("--faults: '" .. item .. "' is not KIND:RATE with a known kind (see --help)", 0)
    end
    if rate < 0 or rate > 1 then error("--faults: the rate of " .. kind .. " must be within 0..1", 0) end
    total = total + rate
    list[#list + 1] = { kind = kind, rate = rate }
  end
  if total > 1 + 1e-9 then error("--faults: the rates add up to more than 1", 0) end
  return list
end

local function glob(path)
  return "^" .. path:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", "[^/]*") .. "$"
end

local function parse_script(text)
  local routes = {}
  for entry in text:gmatch("[^;]+") do
    local method, path, steps = entry:match("^%s*(%u+)%s+(%S+)%s*=%s*(.-)%s*$")
    if not method then
      error("--faults-script: '" .. entry .. "' is not 'METHOD /path=step,step,...'", 0)
    end
    local list = {}
    for step in steps:gmatch("[^,]+") do
      local word, times = step:match("^%s*([%w_]+)%s*%*?%s*(%d*)%s*$")
      local kind = word == "ok" and "ok" or (word and kind_of(word))
      if not kind then error("--faults-script: unknown step '" .. step .. "' (see --help)", 0) end
      for _ = 1, tonumber(times) or 1 do list[#list + 1] = kind end
    end
    routes[#routes + 1] = { method = method, pattern = glob(path), steps = list, next = 1 }
  end
  return routes
end

-- The fault state of an emulator, or nil when no fault flag was given.
function faults.new(cfg)
  if not cfg.faults and not cfg.faults_script then return nil end
  local seed = cfg.seed or string.unpack("<i8", util.random_bytes(8))
  return {
    rates = cfg.faults and parse_rates(cfg.faults) or {},
    script = cfg.faults_script and parse_script(cfg.faults_script) or {},
    draw = rng(seed),
    stall_seconds = cfg.fault_stall_seconds,
    retry_after = cfg.fault_retry_after,
    retry_after_date = cfg.fault_retry_after_date,
    counts = {},
  }
end

local function route_for(state, method, path)
  for _, r in ipairs(state.script) do
    if r.method == method and path:find(r.pattern) then return r end
  end
  return nil
end

local function count(state, kind)
  state.counts[kind] = (state.counts[kind] or 0) + 1
  return kind
end

-- At the first look at a request, before its body is read: refuse it? A
-- scripted route refuses when its next step says so; at rates, `refuse` is
-- drawn on its own, before the other kinds.
function faults.refuse(app, method, path)
  local state = app.faults
  if state == nil or classify(method, path).control then return false end
  local r = route_for(state, method, path)
  if r then
    if r.steps[r.next] ~= "refuse" then return false end
    r.next = r.next + 1
    return count(state, "refuse") ~= nil
  end
  for _, f in ipairs(state.rates) do
    if f.kind == "refuse" then return state.draw() < f.rate and count(state, "refuse") ~= nil end
  end
  return false
end

-- The fault for a request that was read (or nil), kept in ctx.fault. A
-- scripted route decides alone; else one draw among the kinds that apply.
function faults.decide(app, ctx, method, path)
  local state = app.faults
  if state == nil then return nil end
  local class = classify(method, path)
  if class.control then return nil end
  local kind
  local r = route_for(state, method, path)
  if r then
    kind = r.steps[r.next]
    if kind ~= nil then r.next = r.next + 1 end
    if kind == "ok" or (kind and not applies(kind, class)) then kind = nil end
  elseif #state.rates > 0 then
    local x, acc = state.draw(), 0
    for _, f in ipairs(state.rates) do
      if f.kind ~= "refuse" and applies(f.kind, class) then
        acc = acc + f.rate
        if x < acc then
          kind = f.kind
          break
        end
      end
    end
  end
  ctx.fault = kind and count(state, kind)
  return kind
end

-- The request's own URL on the other name of the loopback host: a redirect
-- that crosses hosts while the same emulator serves the final URL.
local function other_host_url(app, req)
  local host = req.headers["host"] or ""
  local name, port = host:match("^(.-)(:%d+)$")
  name, port = name or host, port or ""
  local other = name == "localhost" and "127.0.0.1" or "localhost"
  local query = {}
  for k, v in pairs(req.query) do
    query[#query + 1] = util.url_escape(k) .. "=" .. util.url_escape(v)
  end
  table.sort(query)
  local scheme = (app.url or "http:"):match("^(%a+):")
  return scheme .. "://" .. other .. port .. req.path .. (#query > 0 and "?" .. table.concat(query, "&") or "")
end

local function http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", math.floor(t))
end

-- A status fault's answer, in the error family of the path it hits.
local function status_response(app, status, class)
  local state = app.faults
  if class.output then
    return errors.s3(status, status == 503 and "SlowDown" or "InternalError", "Injected by --faults")
  end
  local res
  if class.ims then
    res = errors.oauth(status, "server_error", "injected by --faults")
  elseif status == 429 then
    res = errors.firefly(429, "rate_limited", "Too many requests (injected by --faults).")
    res.headers["x-access-rate-limit-level"] = "org"
  elseif status == 408 then
    res = errors.firefly(408, "timeout_error", "Injected by --faults.")
  elseif status == 503 then
    res = errors.firefly(503, "model_not_loaded", "Injected by --faults.")
  else
    res = errors.firefly(status, "runtime_error", "Injected by --faults.")
  end
  if status == 429 or status == 503 then
    local s = state.retry_after
    if state.retry_after_date then
      -- An HTTP date has whole seconds: round up so the wait is at least s.
      res.headers["retry-after"] = http_date(math.ceil(native.now()) + s)
    else
      res.headers["retry-after"] = tostring(s)
    end
  end
  return res
end

-- Before the handler: a response that replaces it, or nil to run it.
function faults.before(app, ctx, req)
  local kind = ctx.fault
  if kind == nil or stage_of(kind) ~= "before" then return nil end
  local class = classify(req.method, req.path)
  local n = math.tointeger(tonumber(kind))
  if n then return status_response(app, n, class) end
  if kind == "ims_down" then return status_response(app, 503, class) end
  if kind == "401" then return errors.gateway(401, "401013", "Oauth token is not valid") end
  if kind == "expired" then
    local now = native.now()
    return errors.s3(403, "AccessDenied", "Request has expired", {
      { "X-Amz-Expires", math.floor(app.config.url_seconds) },
      { "Expires", util.iso_date(now - 1) },
      { "ServerTime", util.iso_date(now) } })
  end
  if kind == "redirect" then
    return { status = 302, headers = { ["Location"] = other_host_url(app, req),
      ["Content-Type"] = "text/plain" }, body = "" }
  end
  return nil
end

local JOB_ENDINGS = {
  job_failed = { ending = "failed", error_code = "runtime_error",
    message = "The job failed (injected by --faults)." },
  -- JobPollPayload's own `timeout` status, not `failed` (API-NOTES 10.4).
  job_timeout = { ending = "timeout", error_code = "timeout_error",
    message = "The job timed out (injected by --faults)." },
  stuck = { ending = "stuck" },
}

-- After the handler: changes the response in place and returns what main.c
-- must do with the connection: nil (answer), {close = true},
-- {cut = bytes, length = bytes promised, stall = seconds}, or
-- {endless = prefix} (the prefix, then "a" for as long as the client reads).
function faults.after(app, ctx, _req, res)
  local kind = ctx.fault
  if kind == nil or stage_of(kind) ~= "after" then return nil end
  local body = res.body or ""
  if JOB_ENDINGS[kind] then
    local uuid = ctx.job_id and ctx.job_id:match("([^:]+)$")
    local job = uuid and app.jobs[uuid]
    if job then job.magic = JOB_ENDINGS[kind] else ctx.fault = nil end
    return nil
  elseif kind == "badjson" then
    local ct = res.headers and (res.headers["Content-Type"] or res.headers["content-type"]) or ""
    if not ct:find("json", 1, true) then
      ctx.fault = nil
      return nil
    end
    res.body = body:sub(1, #body // 2)
    return nil
  elseif kind == "endless" then
    res.headers["Content-Type"] = "application/json"
    return { endless = '{"status":"running","padding":"' }
  elseif kind == "reset_after_accept" or #body == 0 then
    return { close = true } -- an empty body cannot be cut: the connection just closes
  elseif kind == "reset" then
    return { cut = #body // 2, length = #body }
  elseif kind == "stall" then
    return { cut = #body // 2, length = #body, stall = app.faults.stall_seconds }
  elseif kind == "truncate" then
    return { cut = #body, length = #body + 1024 }
  end
  return nil
end

function faults.usage()
  local names = {}
  for name in pairs(faults.KINDS) do names[#names + 1] = name end
  table.sort(names)
  local out = { "", "Fault kinds for --faults KIND:RATE,... and --faults-script 'METHOD /path=KIND,ok,...;...':" }
  out[#out + 1] = string.format("  %-22s %s", "408 429 500 502 503 504",
    "answer with that status (429 and 503 with retry-after)")
  for _, name in ipairs(names) do
    out[#out + 1] = string.format("  %-22s %s", name, faults.KINDS[name].help)
  end
  return table.concat(out, "\n") .. "\n"
end

return faults
