-- The Adobe I/O gateway in front of every /v3 (and later /v2) path: the API
-- key first, then the bearer token, in the order the real gateway checks.
local errors = require "firefly.emulator.errors"
local ims = require "firefly.emulator.ims"

local gateway = {}

-- Returns nil when the request may pass, else the error response.
function gateway.check(app, req)
  local key = req.headers["x-api-key"]
  if key == nil or key == "" then
    return errors.gateway(403, "403000", "Api Key is required")
  end
  if key ~= app.config.client_id then
    return errors.gateway(403, "403003", "Api Key is invalid")
  end
  -- A missing token gets the same 401 as a bad one [GUESS]: the gateway also
  -- knows 403010 "Oauth token is missing.", but a 401 is what tells a client
  -- to fetch a token, which is the useful reaction either way.
  local token = (req.headers["authorization"] or ""):match("^[Bb]earer%s+(%S+)%s*$")
  if token == nil or not ims.valid(app, token) then
    return errors.gateway(401, "401013", "Oauth token is not valid")
  end
  return nil
end

-- The custom-models listing declares its own error family for the same
-- refusals: {"reason": ..., "message": ...} with Adobe's example words.
local REASONS = {
  [401] = { "Unauthorized", "Authorization Token is not accepted." },
  [403] = { "Forbidden", "API Key is not accepted." },
}

function gateway.as_reason(res)
  local r = REASONS[res.status]
  if r == nil then return res end
  return errors.reason(res.status, r[1], r[2])
end

return gateway
