-- --rate-limit N: at most N requests a minute per API key (Adobe's limit is
-- per organisation, 4 a minute by default; the emulator's orgs are its keys).
-- Over it: 429 with retry-after in seconds and x-access-rate-limit-level: org,
-- in the error family of the path that refused (API-NOTES §5.3, §7.3).
local errors = require "firefly.emulator.errors"
local native = require "firefly.emulator.native"

local ratelimit = {}

ratelimit.WINDOW = 60

-- The 429 body of each family. `video` is what Adobe's video spec shows
-- (backpressure_limited); `reason` is the custom-models family, which
-- declares no 429 at all [GUESS its words].
ratelimit.BODIES = {
  v3 = { error_code = "rate_limited" },
  video = { error_code = "backpressure_limited", message = "Too many requests" },
  upload = { message = "Too Many Requests", error_code = "10011" },
  reason = { reason = "Too Many Requests", message = "Too many requests." },
}

-- Which requests count: the routes that carry a `limit` family (submissions,
-- uploads, listings). Status polls and cancels do not [GUESS: Adobe does not
-- say; counting them would starve every job under a 4-a-minute limit].
function ratelimit.check(app, req, family)
  local n = app.config.rate_limit
  if not family or not n or n <= 0 then return nil end
  local key = req.headers["x-api-key"] or ""
  local now = native.now()
  local seen = app.rate[key] or {}
  local kept = {}
  for _, t in ipairs(seen) do
    if now - t < ratelimit.WINDOW then kept[#kept + 1] = t end
  end
  app.rate[key] = kept
  if #kept >= n then
    local wait = math.max(1, math.ceil(kept[1] + ratelimit.WINDOW - now))
    return errors.json(429, ratelimit.BODIES[family] or ratelimit.BODIES.v3, {
      ["retry-after"] = tostring(wait), ["x-access-rate-limit-level"] = "org" })
  end
  kept[#kept + 1] = now
  return nil
end

return ratelimit
