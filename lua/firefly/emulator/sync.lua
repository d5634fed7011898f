-- The deprecated synchronous v3 image paths (POST /v3/images/generate,
-- generate-similar, expand, fill, generate-object-composite): the same work
-- as the async ones, validated against Adobe's npm spec, answered 200 with
-- the result itself. A prompt's [emulator:*] word answers as the sync
-- ErrorCode enum would: unsafe -> 422 prompt_unsafe, timeout -> 408
-- timeout_error, fail -> 500 runtime_error. Adobe dropped these paths from its
-- docs on 2025-10-03 (API-NOTES 10.1): every answer says so in a Deprecation
-- header (RFC 9745: "@" and the Unix time of that day) [GUESS: Adobe sends none
-- that we know of].
local errors = require "firefly.emulator.errors"
local images = require "firefly.emulator.images"
local jobs = require "firefly.emulator.jobs"
local native = require "firefly.emulator.native"

local sync = {}

-- 2025-10-03T00:00:00Z, the day the sync paths left Adobe's docs; the router
-- (init.lua) puts it on every answer of a route marked deprecated.
sync.DEPRECATED_AT = "@1759449600"

local STATUS = { prompt_unsafe = 422, timeout_error = 408 }

local function magic(prompt)
  if type(prompt) ~= "string" then return nil end
  for _, m in ipairs(jobs.MAGIC) do
    if m.error_code and prompt:find(m.word, 1, true) then return m end
  end
  return nil
end

-- A handler for the sync twin of async operation `op`.
function sync.handler(op)
  local shape = images.OPERATIONS[op]
  return function(app, _ctx, req)
    local res
    -- The sync ErrorCode enum has no empty_input_body: an empty body is a
    -- bad_request there (API-NOTES 10, issue 9 item 8) [GUESS the message].
    if req.body:match("^%s*$") then
      res = errors.firefly(400, "bad_request", "The request body is empty.")
    else
      local plan, err = images.prepare(app, req, op .. "_sync", shape)
      local m = plan and magic(plan.prompt)
      if plan == nil then
        res = err
      elseif m then
        res = errors.firefly(STATUS[m.error_code] or 500, m.error_code, m.message)
      else
        res = errors.json(200, images.result(app, plan, images.add_outputs(app, plan), native.now()))
      end
    end
    return res
  end
end

sync.generate = sync.handler("generate_images")
sync.generate_similar = sync.handler("generate_similar_images")
sync.expand = sync.handler("expand_image")
sync.fill = sync.handler("fill_image")
sync.generate_object_composite = sync.handler("generate_object_composite")

return sync
