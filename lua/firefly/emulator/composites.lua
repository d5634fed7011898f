-- POST /v3/images/precise-composite and /v3/images/adaptive-composite: the
-- object image placed into the background's fillAreaMask (adaptive: cut by
-- its own object.mask too), one output per seed at the background's size.
-- The emulator pastes (raster.c); `blend`, `harmonization`, `shadowIntensity`
-- and `preserveBackground` change nothing in its pixels [GUESS: they are the
-- model's]. Outputs are PNG whatever output.mediaType asks (the emulator
-- encodes no other type) [GUESS].
local http = require "firefly.emulator.http"
local images = require "firefly.emulator.images"
local jobs = require "firefly.emulator.jobs"
local native = require "firefly.emulator.native"
local policy = require "firefly.emulator.policy"
local uploads = require "firefly.emulator.uploads"

local composites = {}

local function source_of(t)
  return type(t) == "table" and type(t.source) == "table" and t.source or nil
end

function composites.handler(op)
  return function(app, ctx, req)
    local body, err = http.json_body(req)
    if body == nil then return err end
    err = http.validate(op, body, req) or uploads.check(app, body)
      or policy.check_inputs(app, body, "input_media_unsafe")
    if err then return err end
    -- Inputs are read now: an upload may expire before the outputs are fetched.
    local bg, w, h = uploads.png_of(app, source_of(body.background.image))
    local mask = uploads.png_of(app, source_of(body.background.fillAreaMask))
    local obj = uploads.png_of(app, source_of(body.object.image))
    local obj_mask = source_of(body.object.mask) and uploads.png_of(app, source_of(body.object.mask)) or nil
    local plan = { width = w, height = h, seeds = images.seeds(body), fields = {} }
    local recs = images.add_outputs(app, plan)
    for _, rec in ipairs(recs) do
      -- A PNG it cannot read (16-bit interlaced, say) leaves the background as it is.
      rec.render = function() return native.composite(bg, mask, obj, obj_mask) or bg end
    end
    local job = jobs.create(app, { result = function(a, j)
      return { outputs = images.result(a, plan, j.outputs, jobs.finished_at(j)).outputs }
    end })
    job.outputs = recs
    ctx.job_id = job.id
    return jobs.accepted(app, job)
  end
end

composites.precise = composites.handler("precise_composite")
composites.adaptive = composites.handler("adaptive_composite")

return composites
