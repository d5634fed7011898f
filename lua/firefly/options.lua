-- Client options: what firefly.new accepts, its defaults, and the environment
-- variables each falls back to (Adobe's quickstart names). Misuse raises,
-- naming the option; a typo in an option name is misuse too.

local core = require "firefly.core"

local options = {}

local DEFAULTS = {
  api_url = "https://firefly-api.adobe.io",
  ims_url = "https://ims-na1.adobelogin.com",
  scopes = "openid,AdobeID,session,additional_info,read_organizations,firefly_api,ff_apis",
  timeout = 300,          -- seconds a job may take before it is cancelled
  poll_interval = 1,      -- seconds from submit to the first poll
  poll_max = 10,          -- the longest wait between polls
  request_timeout = 60,   -- one HTTP exchange
  connect_timeout = 10,
  stall_timeout = 30,     -- seconds without a byte
  max_retries = 4,
  retry_after_cap = 120,  -- a longer retry-after is returned as an error, not slept through
  retry_unknown_outcome = false, -- resend, once, a submit whose answer was lost (may make two jobs)
  validate = "strict",    -- "strict" refuses a broken rule before sending, "warn" logs it and sends, "off" sends as is
  -- One output, on disk or in memory: Firefly's largest are upscaled images and
  -- videos of tens of MB [GUESS: Adobe states no output size]; 1 GiB leaves room.
  max_download = 1024 * 1024 * 1024,
  min_download_rate = 8192, -- bytes/s a download must average after stall_timeout
}

local ENV = {
  client_id = "FIREFLY_SERVICES_CLIENT_ID",
  client_secret = "FIREFLY_SERVICES_CLIENT_SECRET",
  access_token = "FIREFLY_SERVICES_ACCESS_TOKEN",
  api_url = "FIREFLY_SERVICES_API_URL",
  ims_url = "FIREFLY_SERVICES_IMS_URL",
  log = "FIREFLY_LOG",
}

local TYPES = {
  client_id = "string", client_secret = "string", access_token = "string", scopes = "string",
  api_url = "string", ims_url = "string", timeout = "number", poll_interval = "number",
  poll_max = "number", request_timeout = "number", connect_timeout = "number",
  stall_timeout = "number", max_retries = "number", retry_after_cap = "number",
  retry_unknown_outcome = "boolean",
  max_download = "number", min_download_rate = "number",
  ca_file = "string", proxy = "string", log = "string",
  user_agent = "string",
  rate_limit = "table",   -- {per_minute = n, per_day = n}: a client-side budget of submits
  cache = "string",       -- a directory: answers to seeded requests are kept and reused
  journal = "string",     -- a file: submitted jobs, so a re-run re-attaches instead of resubmitting
  manifest = "string",    -- a file: one JSON line of provenance per saved output
  api_hosts = "table",    -- more hosts the key and token may go to (besides api_url's and *.adobe.io)
  validate = "string",    -- "strict" | "warn" | "off", per client (and per call in opts)
  on_warning = "function", -- gets each validation warning's text; default: a line on stderr
}

-- Every number option's range, inclusive (README: "Number ranges"). Outside
-- it, and for NaN and the infinities, the option is refused before anything
-- is sent: 0/0 once made every job hang, 1e-9 sent 13,773 polls for one job.
local RANGES = {
  timeout = { 1, 86400, "seconds" },          -- a job's deadline; also the per-call option
  poll_interval = { 0.1, 3600, "seconds" },
  poll_max = { 0.1, 3600, "seconds" },
  request_timeout = { 1, 3600, "seconds" },
  connect_timeout = { 0.1, 600, "seconds" },
  stall_timeout = { 1, 3600, "seconds" },
  max_retries = { 0, 20, "whole" },           -- also the per-call option
  retry_after_cap = { 0, 86400, "seconds" },
  ["rate_limit.per_minute"] = { 1e-3, 1e4, "submits" },
  ["rate_limit.per_day"] = { 1e-3, 1e7, "submits" },
  max_download = { 1, 1e15, "bytes" },
  min_download_rate = { 0, 1e12, "bytes a second" }, -- 0: no minimum
}
options.RANGES = RANGES

-- Raises, naming where and what, unless v is a number in k's range.
function options.check_number(where, k, v, level)
  local r = RANGES[k]
  if type(v) ~= "number" then
    error(("%s: option '%s' must be a number, got %s"):format(where, k, type(v)), level + 1)
  end
  -- Written so that NaN, which fails every comparison, fails this one too.
  local ok = v >= r[1] and v <= r[2] and (r[3] ~= "whole" or math.floor(v) == v)
  if not ok then
    local what = r[3] == "whole" and "a whole number" or "a number"
    error(("%s: option '%s' must be %s from %s to %s%s, got %s"):format(where, k, what,
      ("%g"):format(r[1]), ("%g"):format(r[2]), r[3] == "seconds" and " (seconds)" or "", tostring(v)), level + 1)
  end
end

local function trim_slash(url)
  return (url:gsub("/+$", ""))
end

-- The validation modes (DESIGN.md): Adobe changes enums within weeks, and a
-- stale rule must never strand a user.
options.VALIDATE = { strict = true, warn = true, off = true }

-- The one rule for every options table (firefly.new, the operations,
-- ff:map, upload_image...): a table or nil, no unknown name (a typo is
-- misuse), each value of its type. `where` names the call in messages;
-- `level` is error()'s, counted from this function. Returns opts, or an empty table for nil.
-- What an absent options table reads as: one shared empty table (a call without options,
-- the usual one, makes none), read only so that no caller can leave a value in it.
local NONE = setmetatable({}, { __newindex = function() error("firefly: an absent options table is read only", 2) end })

function options.check(where, opts, types, level)
  if opts == nil then return NONE end
  if type(opts) ~= "table" then
    error(("%s: options must be a table, got %s"):format(where, type(opts)), level)
  end
  for k, v in pairs(opts) do
    local want = types[k]
    if not want then error(("%s: unknown option '%s'"):format(where, tostring(k)), level) end
    if type(v) ~= want then
      error(("%s: option '%s' must be a %s, got %s"):format(where, k, want, type(v)), level)
    end
    -- C reads a string up to its first NUL: "secret\0x" would be sent as "secret".
    if want == "string" and v:find("\0", 1, true) then
      error(("%s: option '%s' contains a NUL byte"):format(where, k), level)
    end
    if want == "number" and RANGES[k] then options.check_number(where, k, v, level) end
  end
  return opts
end

function options.resolve(opts, getenv)
  getenv = getenv or os.getenv
  opts = options.check("firefly.new", opts, TYPES, 4)
  local o = {}
  for k in pairs(TYPES) do
    local v = opts[k]
    if v == nil and ENV[k] then
      v = getenv(ENV[k])
      if v == "" then v = nil end
    end
    if v == nil then v = DEFAULTS[k] end
    o[k] = v
  end
  for k, v in pairs(o) do
    if RANGES[k] then options.check_number("firefly.new", k, v, 3) end
  end
  for k, v in pairs(o.rate_limit or {}) do
    if k ~= "per_minute" and k ~= "per_day" then
      error("firefly.new: rate_limit takes per_minute and per_day, not '" .. tostring(k) .. "'", 3)
    end
    options.check_number("firefly.new", "rate_limit." .. k, v, 3)
  end
  -- The shape is src/hosts.c's (ff_api_host_invalid), where the entries are matched.
  for i, h in ipairs(o.api_hosts or {}) do
    local why = type(h) ~= "string" and ("it is a " .. type(h))
      or h:find("%z") and "it contains a NUL byte" or h:find("%s") and "it contains a space"
      or core.api_host_invalid(h)
    if why then
      error(("firefly.new: api_hosts[%d] (%s): %s; an entry is a host name (api.example.com), a .suffix of two "
        .. "or more labels (.example.com) or an [IPv6] address, each with an optional :port (api.example.com:8443)")
        :format(i, type(h) == "string" and ("%q"):format(h) or tostring(h), why), 3)
    end
  end
  o.api_url, o.ims_url = trim_slash(o.api_url), trim_slash(o.ims_url)
  -- The shape here; which ones may carry credentials (https, or http on loopback) in src/hosts.c.
  for k, name in pairs { api_url = "API URL", ims_url = "IMS URL" } do
    if not o[k]:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+") then
      error(("firefly.new: the %s '%s' is not an http(s) URL (option %s)"):format(name, o[k], k), 3)
    end
  end
  if not o.access_token and not (o.client_id and o.client_secret) then
    error("firefly.new: no credentials: set client_id and client_secret (or access_token), "
      .. "or the environment variables FIREFLY_SERVICES_CLIENT_ID and FIREFLY_SERVICES_CLIENT_SECRET", 3)
  end
  if not o.client_id then
    error("firefly.new: client_id is required with access_token (Firefly wants it as x-api-key)", 3)
  end
  if not options.VALIDATE[o.validate] then
    error("firefly.new: validate must be 'strict', 'warn' or 'off', got '" .. tostring(o.validate) .. "'", 3)
  end
  if o.log and o.log ~= "info" and o.log ~= "debug" then
    error("firefly.new: log must be 'info' or 'debug', got '" .. o.log .. "'", 3)
  end
  return o
end

-- Read by tools/reference.lua: the types file and the manual list exactly these.
options.TYPES, options.DEFAULTS, options.ENV = TYPES, DEFAULTS, ENV

return options
