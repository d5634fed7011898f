-- Small helpers shared by the emulator's modules: ids, encodings, hashing.
local cjson = require "cjson"

local util = {}

-- cjson writes "/" as "\/"; legal, but URLs read badly that way. Every "\/"
-- in its output is that escape (a real backslash comes out as "\\").
function util.json(v)
  return (cjson.encode(v):gsub("\\/", "/"))
end

-- A random uuid4 from Lua's generator (seeded by --seed when given).
function util.uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%012x",
    math.random(0, 0xffffffff), math.random(0, 0xffff), math.random(0, 0xfff),
    0x8000 | math.random(0, 0x3fff), math.random(0, 0xffffffffffff))
end

-- Bytes from the OS, for secrets that must not follow --seed.
function util.random_bytes(n)
  local f = io.open("/dev/urandom", "rb")
  if f then
    local s = f:read(n)
    f:close()
    if s and #s == n then return s end
  end
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

function util.hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

-- base64url without padding, as JWTs use.
function util.b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for k = 1, chars do
      local idx = (n >> (18 - 6 * (k - 1))) & 63
      out[#out + 1] = B64:sub(idx + 1, idx + 1)
    end
  end
  return table.concat(out)
end

-- 64-bit FNV-1a: not cryptographic, enough to notice a tampered URL.
local function fnv64(s)
  local h = -3750763034362895579 -- 0xcbf29ce484222325
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 1099511628211
  end
  return h
end

-- A keyed digest shaped like HMAC: H(key .. H(key .. msg)), 128 bits of hex.
function util.sign(key, msg)
  local inner = string.format("%016x", fnv64(key .. "\0" .. msg))
  return string.format("%016x%016x", fnv64(key .. inner), fnv64(inner .. key .. msg))
end

local function unescape(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- Percent-encodes all but RFC 3986's unreserved characters.
function util.url_escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- application/x-www-form-urlencoded -> table (last value wins).
function util.form_decode(body)
  local t = {}
  for pair in body:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    t[unescape(k)] = unescape(v)
  end
  return t
end

-- X-Amz-Date style timestamp.
function util.amz_date(t)
  return os.date("!%Y%m%dT%H%M%SZ", math.floor(t))
end

-- The inverse of amz_date, in UTC; nil for anything else.
function util.parse_amz_date(s)
  local y, mo, d, h, mi, se = tostring(s):match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  -- os.time reads a table as local time: correct by the offset at that moment.
  local t = { year = tonumber(y), month = tonumber(mo), day = tonumber(d),
    hour = tonumber(h), min = tonumber(mi), sec = tonumber(se), isdst = false }
  local guess = os.time(t)
  local utc = os.date("!*t", guess)
  utc.isdst = false
  return guess + (guess - os.time(utc))
end

function util.iso_date(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

return util
