-- The IMS token endpoint (POST /ims/token/v3) and the store of issued tokens.
local cjson = require "cjson"
local errors = require "firefly.emulator.errors"
local native = require "firefly.emulator.native"
local util = require "firefly.emulator.util"

local ims = {}

-- Looks like Adobe's JWT (API-NOTES 1.2) but is opaque to the emulator itself:
-- validity is whatever the token store says.
local function mint(app, now, scope)
  local header = { alg = "RS256", x5u = "emulator-key-1.cer", kid = "emulator-key-1", itt = "at" }
  local payload = {
    id = util.uuid4(), type = "access_token", client_id = app.config.client_id,
    as = "ims-emulator", user_id = app.config.client_id .. "@techacct.adobe.com",
    created_at = string.format("%d", math.floor(now * 1000)),
    expires_in = string.format("%d", math.floor(app.config.token_seconds * 1000)),
    scope = scope,
  }
  return util.b64url(cjson.encode(header)) .. "." .. util.b64url(cjson.encode(payload))
    .. "." .. util.b64url(util.random_bytes(32))
end

function ims.token(app, _ctx, req)
  local p = {}
  for k, v in pairs(req.query) do p[k] = v end
  -- Parameters may come in the body or the query; the body wins.
  if #req.body > 0 then
    for k, v in pairs(util.form_decode(req.body)) do p[k] = v end
  end
  if p.grant_type ~= "client_credentials" then
    return errors.oauth(400, "unsupported_grant_type", "unsupported grant_type parameter")
  end
  if p.client_id ~= app.config.client_id then
    return errors.oauth(400, "invalid_client", "invalid client_id parameter")
  end
  if p.client_secret ~= app.config.client_secret then
    return errors.oauth(401, "invalid_client", "invalid client_secret parameter")
  end
  local now = native.now()
  local token = mint(app, now, p.scope or "")
  app.tokens[token] = { expires = now + app.config.token_seconds }
  return errors.json(200, { access_token = token, token_type = "bearer",
    expires_in = math.floor(app.config.token_seconds) })
end

-- True when `token` was issued, has not expired and has not been revoked.
function ims.valid(app, token)
  local t = app.tokens[token]
  if t == nil then return false end
  if native.now() >= t.expires then
    app.tokens[token] = nil
    return false
  end
  return true
end

function ims.revoke_all(app)
  app.tokens = {}
end

return ims
