-- The deprecated synchronous v3 image paths (POST /v3/images/generate,
-- generate-similar, expand, fill, generate-object-composite): the same work
-- as the async ones, validated against Adobe's npm spec, answered 200 with
-- the result itself. A prompt's [emulator:*] word answers as the sync
-- ErrorCode enum would: unsafe -> 422 prompt_unsafe, fail -> 500 runtime_error.
local errors = require "firefly.emulator.errors"
local images = require "firefly.emulator.images"
local jobs = require "firefly.emulator.jobs"
local native = require "firefly.emulator.native"

local sync = {}

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
  return function(app, ctx, req)
    local plan, err = images.prepare(app, req, op .. "_sync", shape)
    if plan == nil then return err end
    local m = magic(plan.prompt)
    if m then
      return errors.firefly(m.error_code == "prompt_unsafe" and 422 or 500, m.error_code, m.message)
    end
    local recs = images.add_outputs(app, plan)
    return errors.json(200, images.result(app, plan, recs, native.now()))
  end
end

sync.generate = sync.handler("generate_images")
sync.generate_similar = sync.handler("generate_similar_images")
sync.expand = sync.handler("expand_image")
sync.fill = sync.handler("fill_image")
sync.generate_object_composite = sync.handler("generate_object_composite")

return sync
