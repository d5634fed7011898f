-- POST /v3/videos/generate: JSON only (415 for anything else, as the async
-- image paths answer), a job like the image ones, one MP4 output per request.
local images = require "firefly.emulator.images"
local jobs = require "firefly.emulator.jobs"
local outputs = require "firefly.emulator.outputs"
local uploads = require "firefly.emulator.uploads"
local http = require "firefly.emulator.http"

local video = {}

-- The first size Adobe lists as supported (API-NOTES 3.8) [GUESS as the default].
video.DEFAULT_SIZE = { width = 1920, height = 1080 }

function video.generate(app, ctx, req)
  local body, err = http.json_body(req)
  if body == nil then return err end
  err = http.validate("generate_video", body, req) or uploads.check(app, body)
  if err then return err end
  local size = type(body.sizes) == "table" and type(body.sizes[1]) == "table" and body.sizes[1]
    or video.DEFAULT_SIZE
  local width = math.tointeger(size.width) or video.DEFAULT_SIZE.width
  local height = math.tointeger(size.height) or video.DEFAULT_SIZE.height
  -- "Currently only 1 seed is supported" [SPEC video].
  local seed = images.seeds({ seeds = body.seeds, numVariations = 1 })[1]
  local rec = outputs.add(app, width, height, seed, "video")
  local job = jobs.create(app, { prompt = body.prompt, result = function(a, j)
    return { size = { width = width, height = height },
      outputs = { { seed = seed, video = { url = outputs.url(a, rec, jobs.finished_at(j)) } } } }
  end })
  job.outputs = { rec }
  ctx.job_id = job.id
  return jobs.accepted(app, job)
end

return video
