-- Output images behind pre-signed, S3-shaped URLs. The URL carries
-- X-Amz-Date/X-Amz-Expires and a signature keyed by a per-process secret;
-- nothing else (no Authorization, no x-api-key) is needed or looked at.
local errors = require "firefly.emulator.errors"
local mp4 = require "firefly.emulator.mp4"
local native = require "firefly.emulator.native"
local util = require "firefly.emulator.util"

local outputs = {}

-- What an output kind is served as.
outputs.KINDS = {
  image = { ext = "png", type = "image/png" },
  video = { ext = "mp4", type = "video/mp4" },
}

-- Frames in a video output: one a second, Adobe's videos last five [SPEC video].
outputs.VIDEO_SECONDS = 5

-- Register an output (a picture unless kind is "video"); its URL is made
-- later, when the job finishes.
function outputs.add(app, width, height, seed, kind)
  local id = util.uuid4()
  app.outputs[id] = { id = id, width = width, height = height, seed = seed, kind = kind or "image" }
  return app.outputs[id]
end

local function path_of(rec)
  return "/outputs/" .. rec.id .. "." .. outputs.KINDS[rec.kind].ext
end

local function string_to_sign(path, date, expires)
  return path .. "\n" .. date .. "\n" .. expires
end

-- The pre-signed URL of `rec`, issued at time `issued` (fixed per output, so
-- every poll of a finished job returns the same URL).
function outputs.url(app, rec, issued)
  rec.issued = rec.issued or issued
  rec.expires = rec.expires or math.floor(app.config.url_seconds)
  local path = path_of(rec)
  local date = util.amz_date(rec.issued)
  local sig = util.sign(app.secret, string_to_sign(path, date, tostring(rec.expires)))
  return string.format("%s%s?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=%s&X-Amz-Expires=%d"
    .. "&X-Amz-SignedHeaders=host&X-Amz-Signature=%s", app.output_url, path, date, rec.expires, sig)
end

-- A few recent pictures are kept: clients often fetch the same one again.
local CACHE_SIZE = 8

function outputs.picture(app, width, height, seed)
  local key = string.format("%d:%d:%d", width, height, seed)
  local cache = app.png_cache
  if cache[key] == nil then
    if cache.n >= CACHE_SIZE then
      cache = { n = 0 }
      app.png_cache = cache
    end
    cache[key] = native.png(width, height, seed)
    cache.n = cache.n + 1
  end
  return cache[key]
end

-- What an output's URL serves: its own drawing (rec.render: upscale, the
-- composites), a video, or the picture of its size and seed. A drawing is
-- made once and kept while the output lives.
function outputs.bytes(app, rec)
  if rec.render then
    rec.drawn = rec.drawn or rec.render(app, rec)
    return rec.drawn
  end
  if rec.kind == "video" then return outputs.video(app, rec) end
  return outputs.picture(app, rec.width, rec.height, rec.seed)
end

-- A video's frames are pictures seeded seed, seed+1, ...
function outputs.video(_app, rec)
  local frames = {}
  for i = 1, outputs.VIDEO_SECONDS do
    frames[i] = native.png(rec.width, rec.height, (rec.seed + i - 1) % 0x80000000)
  end
  return mp4.write(rec.width, rec.height, frames)
end

-- When the emulator forgets an output: when its URL stops working. One not
-- yet signed (its job still running) lives until its job is forgotten.
function outputs.sweep(app, now)
  for id, rec in pairs(app.outputs) do
    if rec.issued and now > rec.issued + rec.expires then app.outputs[id] = nil end
  end
end

-- GET /outputs/{id}.png (or .mp4). The signature and the expiry are read from
-- the URL itself, so an output already forgotten still answers S3's
-- "Request has expired".
function outputs.serve(app, _ctx, req, id, ext)
  local q = req.query
  local path = "/outputs/" .. id .. "." .. (ext or "png")
  if not (q["X-Amz-Date"] and q["X-Amz-Expires"] and q["X-Amz-Signature"]) then
    return errors.s3(403, "AccessDenied", "Access Denied")
  end
  local want = util.sign(app.secret, string_to_sign(path, q["X-Amz-Date"], q["X-Amz-Expires"]))
  local issued, expires = util.parse_amz_date(q["X-Amz-Date"]), tonumber(q["X-Amz-Expires"])
  if want ~= q["X-Amz-Signature"] or issued == nil or expires == nil then
    return errors.s3(403, "SignatureDoesNotMatch",
      "The request signature does not match the signature provided.")
  end
  -- A live output keeps its exact moment of issue (the URL's date has whole
  -- seconds only); a forgotten one is judged by its URL.
  local rec = app.outputs[id]
  if rec and rec.issued then issued, expires = rec.issued, rec.expires end
  local now = native.now()
  if now > issued + expires then
    return errors.s3(403, "AccessDenied", "Request has expired", {
      { "X-Amz-Expires", math.floor(expires) },
      { "Expires", util.iso_date(issued + expires) },
      { "ServerTime", util.iso_date(now) } })
  end
  if rec == nil or path_of(rec) ~= path or rec.issued == nil then
    return errors.s3(404, "NoSuchKey", "The specified key does not exist.")
  end
  return { status = 200, headers = { ["Content-Type"] = outputs.KINDS[rec.kind].type },
    body = outputs.bytes(app, rec) }
end

return outputs
