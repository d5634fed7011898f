-- The async image endpoints. Only generate-async so far; the others follow
-- the same steps: body, validation, a job whose result builder knows the shape.
local http = require "firefly.emulator.http"
local jobs = require "firefly.emulator.jobs"
local outputs = require "firefly.emulator.outputs"

local images = {}

-- Adobe's default size for every image endpoint (API-NOTES 3.1).
images.DEFAULT_SIZE = { width = 2048, height = 2048 }
-- contentClass is auto-detected by Adobe when absent; the emulator says "photo" [GUESS].
images.DEFAULT_CONTENT_CLASS = "photo"

local function random_seed()
  return math.random(0, 0x7fffffff)
end

-- POST /v3/images/generate-async
function images.generate_async(app, ctx, req)
  local body, err = http.json_body(req)
  if body == nil then return err end
  err = http.validate("generate_images", body, req)
  if err then return err end

  local size = type(body.size) == "table" and body.size or images.DEFAULT_SIZE
  local width = math.tointeger(size.width) or images.DEFAULT_SIZE.width
  local height = math.tointeger(size.height) or images.DEFAULT_SIZE.height
  local given = type(body.seeds) == "table" and body.seeds or {}
  local n = math.tointeger(body.numVariations) or math.max(#given, 1)
  n = math.max(1, math.min(n, 4)) -- validation rejects the rest; this guards its absence
  local seeds = {}
  for i = 1, n do seeds[i] = math.tointeger(given[i]) or random_seed() end

  local spec = { width = width, height = height, seeds = seeds,
    content_class = body.contentClass or images.DEFAULT_CONTENT_CLASS }
  local job = jobs.create(app, { prompt = body.prompt, result = jobs.image_result(spec) })
  job.outputs = {}
  for i, seed in ipairs(seeds) do job.outputs[i] = outputs.add(app, width, height, seed) end
  ctx.job_id = job.id
  return jobs.accepted(app, job)
end

return images
