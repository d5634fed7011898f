-- Not Adobe's: endpoints that let tests steer the emulator.
local errors = require "firefly.emulator.errors"
local ims = require "firefly.emulator.ims"

local control = {}

-- POST /__emulator/revoke-tokens: every token issued so far stops working.
function control.revoke_tokens(app)
  ims.revoke_all(app)
  return errors.json(200, {})
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- GET /__emulator/health, with how many jobs, outputs and uploads it holds.
function control.health(app)
  return errors.json(200, { status = "ok", jobs = count(app.jobs), outputs = count(app.outputs),
    uploads = count(app.uploads), upload_bytes = app.upload_bytes and app.upload_bytes.total or 0 })
end

return control
