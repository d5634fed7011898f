-- The emulator's command-line flags: one table says what exists, its type,
-- default and help line. A new flag (--rate-limit, --faults) is one entry here.
local flags = {}

flags.list = {
  { name = "port", kind = "integer", default = 0, arg = "N",
    help = "TCP port to listen on; 0 picks a free one" },
  { name = "host", kind = "string", default = "127.0.0.1", arg = "HOST",
    help = "address to listen on" },
  { name = "public-url", kind = "string", arg = "URL",
    help = "base URL put into statusUrl, cancelUrl and output URLs (default: the listening URL)" },
  { name = "output-url", kind = "string", arg = "URL",
    help = "base URL put into output URLs only, e.g. to bypass a proxy in front of the API (default: --public-url)" },
  { name = "tls-cert", kind = "string", arg = "FILE",
    help = "serve HTTPS with this PEM certificate (needs --tls-key)" },
  { name = "tls-key", kind = "string", arg = "FILE",
    help = "the PEM private key of --tls-cert" },
  { name = "client-id", kind = "string", default = "emulator-client-id", arg = "ID",
    help = "the one client id (and x-api-key) accepted" },
  { name = "client-secret", kind = "string", default = "emulator-client-secret", arg = "SECRET",
    help = "the one client secret accepted" },
  { name = "job-seconds", kind = "number", default = 3, arg = "S",
    help = "how long a job takes from submission to its result (fractions allowed)" },
  { name = "token-seconds", kind = "number", default = 86399, arg = "S",
    help = "lifetime of an access token" },
  { name = "url-seconds", kind = "number", default = 3600, arg = "S",
    help = "lifetime of a pre-signed output URL" },
  { name = "rate-limit", kind = "integer", default = 0, arg = "N",
    help = "answer 429 past N requests a minute per API key (0: no limit; Adobe's default is 4)" },
  { name = "upload-seconds", kind = "number", default = 604800, arg = "S",
    help = "lifetime of an upload id (Adobe: 7 days)" },
  { name = "upload-bytes", kind = "integer", default = 256 * 1024 * 1024, arg = "N",
    help = "bytes of uploaded PNGs kept to draw upscales and composites with; past it the oldest draw as stand-ins" },
  { name = "seed", kind = "integer", arg = "N",
    help = "seed of the random numbers behind ids and image seeds (default: random)" },
  { name = "log", kind = "string", arg = "FILE",
    help = "append one JSON line per request to FILE" },
  { name = "faults", kind = "string", arg = "KIND:RATE,...",
    help = "inject faults at random, e.g. 429:0.1,500:0.05,reset:0.02 (kinds below)" },
  { name = "faults-script", kind = "string", arg = "SCRIPT",
    help = "inject faults in order per route, e.g. 'POST /v3/images/generate-async=reset_after_accept,ok'" },
  { name = "fault-stall-seconds", kind = "number", default = 30, arg = "S",
    help = "how long a stalled response stays silent before its connection closes" },
  { name = "fault-retry-after", kind = "number", default = 1, arg = "S",
    help = "the retry-after (seconds) of an injected 429 or 503" },
  { name = "fault-retry-after-date", kind = "boolean",
    help = "send that retry-after as an HTTP date instead of seconds" },
  { name = "parent-pid", kind = "integer", arg = "PID",
    help = "end when process PID (the one that started it) ends, even by kill -9" },
  { name = "exit-on-stdin-eof", kind = "boolean",
    help = "end when stdin reaches end of file (a pipe whose writer is gone)" },
  { name = "help", kind = "boolean",
    help = "print this text and exit" },
}

local by_name = {}
for _, f in ipairs(flags.list) do by_name[f.name] = f end

local function convert(f, v)
  if f.kind == "boolean" then
    if v == true or v == "true" then return true end
    if v == "false" then return false end
    return nil, "takes no value"
  end
  if v == true then return nil, "needs a value" end
  if f.kind == "string" then return v end
  local n = tonumber(v)
  if n == nil or n < 0 then return nil, "needs a non-negative number" end
  if f.kind == "integer" then
    n = math.tointeger(n)
    if n == nil then return nil, "needs a whole number" end
  end
  return n
end

-- Turns {["job-seconds"] = "0.5", ...} into {job_seconds = 0.5, ...}; raises on misuse.
function flags.parse(args)
  local cfg = {}
  for _, f in ipairs(flags.list) do cfg[f.name:gsub("-", "_")] = f.default end
  for name, v in pairs(args) do
    local f = by_name[name]
    if f == nil then error("unknown flag --" .. name, 0) end
    local value, why = convert(f, v)
    if value == nil then error("--" .. name .. " " .. why, 0) end
    cfg[(name:gsub("-", "_"))] = value
  end
  if cfg.port > 65535 then error("--port must be at most 65535", 0) end
  if (cfg.tls_cert == nil) ~= (cfg.tls_key == nil) then
    error("--tls-cert and --tls-key go together", 0)
  end
  return cfg
end

function flags.usage(magic)
  local out = { "Usage: firefly-emulator [flags]",
    "",
    "A local stand-in for Adobe's Firefly API and IMS token endpoint.",
    "The first line on stdout is the base URL; everything else goes to stderr.",
    "",
    "Flags:" }
  for _, f in ipairs(flags.list) do
    local left = "  --" .. f.name .. (f.arg and (" " .. f.arg) or "")
    local def = f.default ~= nil and f.kind ~= "boolean" and (" (default " .. tostring(f.default) .. ")") or ""
    out[#out + 1] = string.format("%-26s %s%s", left, f.help, def)
  end
  out[#out + 1] = ""
  out[#out + 1] = "Words in a prompt that steer a job:"
  for _, m in ipairs(magic) do
    out[#out + 1] = string.format("  %-22s %s", m.word, m.help)
  end
  out[#out + 1] = ""
  out[#out + 1] = "Control endpoints (for tests): POST /__emulator/revoke-tokens, GET /__emulator/health"
  return table.concat(out, "\n") .. "\n"
end

return flags
