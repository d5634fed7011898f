-- POST /v3/images/upscale (PreciseUpsamplerRequestV3): one output per seed,
-- each the input image enlarged `upscaleFactor` times (nearest neighbour:
-- the emulator's outputs show their input). Accepted with 202 and the links
-- shape; the result is PreciseUpsamplerResponse {outputs[], version}.
local errors = require "firefly.emulator.errors"
local http = require "firefly.emulator.http"
local images = require "firefly.emulator.images"
local jobs = require "firefly.emulator.jobs"
local native = require "firefly.emulator.native"
local outputs = require "firefly.emulator.outputs"
local policy = require "firefly.emulator.policy"
local uploads = require "firefly.emulator.uploads"

local upscale = {}

upscale.DEFAULT_FACTOR = 2 -- [SPEC26]
-- The largest side the emulator draws (png.h PNG_MAX_SIDE); Adobe's guide
-- speaks of a 6k cap without saying how it refuses more [GUESS: 422].
upscale.MAX_SIDE = 8192
-- `version` in the result: the model that answered [GUESS: the document gives no example].
upscale.VERSION = "precise_upsampler_v1"

function upscale.handle(app, ctx, req)
  local body, err = http.json_body(req)
  if body == nil then return err end
  err = http.validate("upscale_image", body, req) or uploads.check(app, body) or policy.check_inputs(app, body)
  if err then return err end
  local source = body.image.source
  local factor = math.tointeger(body.upscaleFactor) or upscale.DEFAULT_FACTOR
  -- The input is read now: an upload may expire before the output is fetched.
  local input, w, h = uploads.png_of(app, source)
  if w * factor > upscale.MAX_SIDE or h * factor > upscale.MAX_SIDE then
    return errors.firefly(422, "validation_error", "Request validation failed.", { validation_errors = { {
      loc = { "body", "upscaleFactor" }, type = "value_error.upscale.size",
      msg = ("a %dx%d image upscaled %d times is larger than %d pixels a side"):format(w, h, factor, upscale.MAX_SIDE),
    } } })
  end
  local recs = {}
  for i, seed in ipairs(images.seeds({ seeds = body.seeds })) do
    recs[i] = outputs.add(app, w * factor, h * factor, seed)
    recs[i].render = function()
      return assert(native.upscale(input, factor))
    end
  end
  local job = jobs.create(app, { result = function(a, j)
    local list = {}
    for i, rec in ipairs(j.outputs) do
      list[i] = { id = rec.id, name = ("upscaled-%d.png"):format(rec.seed),
        presignedUrl = outputs.url(a, rec, jobs.finished_at(j)) }
    end
    return { outputs = list, version = upscale.VERSION }
  end })
  job.outputs = recs
  ctx.job_id = job.id
  return jobs.accepted_links(app, job, 202)
end

return upscale
