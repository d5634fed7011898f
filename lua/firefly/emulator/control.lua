-- Not Adobe's: endpoints that let tests steer the emulator.
local errors = require "firefly.emulator.errors"
local ims = require "firefly.emulator.ims"

local control = {}

-- POST /__emulator/revoke-tokens: every token issued so far stops working.
function control.revoke_tokens(app)
  ims.revoke_all(app)
  return errors.json(200, {})
end

-- GET /__emulator/health
function control.health()
  return errors.json(200, { status = "ok" })
end

return control
