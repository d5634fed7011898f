-- POST /v4/images/generate-async: Image 5 (x-model-version: image5). Its body
-- (ImageGenerateRequestV3) has no size: the outputs' size follows
-- `aspectRatio` and `resolutionLevel`. Accepted with 200 and the links shape.
local http = require "firefly.emulator.http"
local images = require "firefly.emulator.images"
local jobs = require "firefly.emulator.jobs"
local policy = require "firefly.emulator.policy"
local uploads = require "firefly.emulator.uploads"

local image5 = {}

-- Megapixels of each resolutionLevel, and the default ones [SPEC26: 2.4MP].
image5.MEGAPIXELS = { ["1MP"] = 1, ["2.4MP"] = 2.4, ["4MP"] = 4 }
image5.DEFAULT_LEVEL = "2.4MP"
-- `auto` (and no aspectRatio) is read as square [GUESS: the model chooses].
image5.RATIOS = { ["1:1"] = 1, ["4:3"] = 4 / 3, ["3:4"] = 3 / 4, ["16:9"] = 16 / 9, ["9:16"] = 9 / 16 }

-- Width and height, multiples of 16, of that many megapixels at that ratio [GUESS].
function image5.size(body)
  local mp = image5.MEGAPIXELS[body.resolutionLevel] or image5.MEGAPIXELS[image5.DEFAULT_LEVEL]
  local r = image5.RATIOS[body.aspectRatio] or 1
  local function round16(v) return math.max(16, math.floor(v / 16 + 0.5) * 16) end
  local h = math.sqrt(mp * 1000000 / r)
  return round16(h * r), round16(h)
end

function image5.generate(app, ctx, req)
  local body, err = http.json_body(req)
  if body == nil then return err end
  err = http.validate("generate_images_v5", body, req) or uploads.check(app, body)
    or policy.check_prompt(body.prompt) or policy.check_inputs(app, body, "reference_image_unsafe_error")
  if err then return err end
  local width, height = image5.size(body)
  local plan = { width = width, height = height, seeds = images.seeds(body), fields = {} }
  local job = jobs.create(app, { prompt = body.prompt, result = function(a, j)
    -- JobResult: outputs only (no size; the document's status result is one shape).
    return { outputs = images.result(a, plan, j.outputs, jobs.finished_at(j)).outputs }
  end })
  job.outputs = images.add_outputs(app, plan)
  ctx.job_id = job.id
  return jobs.accepted_links(app, job, 200)
end

return image5
