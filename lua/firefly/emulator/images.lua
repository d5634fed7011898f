-- The image operations: what each one's result looks like, and their async
-- endpoints (POST /v3/images/*-async). A request goes through the same steps
-- everywhere: body, validation, upload ids, then a plan (size, seeds, extra
-- result fields) that a job, or the deprecated sync path (sync.lua), turns
-- into outputs.
local errors = require "firefly.emulator.errors"
local http = require "firefly.emulator.http"
local jobs = require "firefly.emulator.jobs"
local outputs = require "firefly.emulator.outputs"
local uploads = require "firefly.emulator.uploads"

local images = {}

-- Adobe's default size for every image endpoint (API-NOTES 3.1).
images.DEFAULT_SIZE = { width = 2048, height = 2048 }
-- contentClass is auto-detected by Adobe when absent; the emulator says "photo" [GUESS].
images.DEFAULT_CONTENT_CLASS = "photo"

local function requested_size(_app, body)
  local size = type(body.size) == "table" and body.size or images.DEFAULT_SIZE
  return math.tointeger(size.width) or images.DEFAULT_SIZE.width,
    math.tointeger(size.height) or images.DEFAULT_SIZE.height
end

-- Fill paints inside the input picture, so its outputs have the input's size
-- when the emulator knows it (an upload, or one of its own outputs).
local function input_size(app, body)
  local image = type(body.image) == "table" and body.image or {}
  local w, h = uploads.size_of(app, image.source)
  if w then return w, h end
  return requested_size(app, body)
end

-- Fill's mask covers the input picture pixel for pixel: when the emulator
-- knows both sizes they must agree (Adobe's docs: "The mask must be the same
-- size as the image"), else a 422 whose loc names the mask's source.
local function mask_matches(app, body)
  local image = type(body.image) == "table" and body.image or {}
  -- The async body has `mask.source`; the sync one `image.mask`, an {uploadId}.
  local mask, loc = body.mask, { "body", "mask", "source" }
  if type(mask) == "table" then
    mask = mask.source
  else
    mask, loc = image.mask, { "body", "image", "mask" }
  end
  local iw, ih = uploads.size_of(app, image.source)
  local mw, mh = uploads.size_of(app, mask)
  if not (iw and mw) or (iw == mw and ih == mh) then return nil end
  return errors.firefly(422, "validation_error", "Request validation failed.", { validation_errors = { {
    loc = loc, type = "value_error.mask.size",
    msg = ("the mask is %dx%d but the image is %dx%d: a mask must have its image's size"):format(mw, mh, iw, ih),
    ctx = { mask = { width = mw, height = mh }, image = { width = iw, height = ih } },
  } } })
end

local function content_class(body)
  return { contentClass = body.contentClass or images.DEFAULT_CONTENT_CLASS }
end

-- Per operation: the size of its outputs and the fields its result adds to
-- size and outputs (Adobe's *ResponseV3 schemas).
images.OPERATIONS = {
  generate_images = { size = requested_size, fields = function(body)
    local f = content_class(body)
    f.promptHasDeniedWords, f.promptHasBlockedArtists = false, false
    return f
  end },
  generate_similar_images = { size = requested_size },
  expand_image = { size = requested_size }, -- the target size
  fill_image = { size = input_size, check = mask_matches },
  generate_object_composite = { size = requested_size, fields = content_class },
}

local function random_seed()
  return math.random(0, 0x7fffffff)
end

-- One seed per output: the given ones, then random ones up to numVariations.
function images.seeds(body)
  local given = type(body.seeds) == "table" and body.seeds or {}
  local n = math.tointeger(body.numVariations) or math.max(#given, 1)
  n = math.max(1, math.min(n, 4)) -- validation rejects the rest; this guards its absence
  local seeds = {}
  for i = 1, n do seeds[i] = math.tointeger(given[i]) or random_seed() end
  return seeds
end

-- Body -> plan {width, height, seeds, fields, prompt}, or nil and the error
-- response. `op` names the validation rules (sync paths have their own).
function images.prepare(app, req, op, shape)
  local body, err = http.json_body(req)
  if body == nil then return nil, err end
  err = http.validate(op, body, req) or uploads.check(app, body) or (shape.check and shape.check(app, body))
  if err then return nil, err end
  local width, height = shape.size(app, body)
  return { width = width, height = height, seeds = images.seeds(body),
    fields = shape.fields and shape.fields(body) or {}, prompt = body.prompt }
end

-- The result document of a plan whose outputs were signed at `issued`.
function images.result(app, plan, recs, issued)
  local list = {}
  for i, seed in ipairs(plan.seeds) do
    list[i] = { seed = seed, image = { url = outputs.url(app, recs[i], issued) } }
  end
  local doc = { size = { width = plan.width, height = plan.height }, outputs = list }
  for k, v in pairs(plan.fields) do doc[k] = v end
  return doc
end

function images.add_outputs(app, plan)
  local recs = {}
  for i, seed in ipairs(plan.seeds) do recs[i] = outputs.add(app, plan.width, plan.height, seed) end
  return recs
end

-- A handler for POST /v3/images/<op>-async.
function images.async(op)
  local shape = images.OPERATIONS[op]
  return function(app, ctx, req)
    local plan, err = images.prepare(app, req, op, shape)
    if plan == nil then return err end
    local job = jobs.create(app, { prompt = plan.prompt, result = function(a, j)
      return images.result(a, plan, j.outputs, jobs.finished_at(j))
    end })
    job.outputs = images.add_outputs(app, plan)
    ctx.job_id = job.id
    return jobs.accepted(app, job)
  end
end

images.generate_async = images.async("generate_images")
images.generate_similar_async = images.async("generate_similar_images")
images.expand_async = images.async("expand_image")
images.fill_async = images.async("fill_image")
images.generate_object_composite_async = images.async("generate_object_composite")

return images
