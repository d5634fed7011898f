-- POST /v2/storage/image and the store of uploaded images. An upload id names
-- its image for --upload-seconds (Adobe: 7 days, API-NOTES §3.7); request
-- bodies that name an unknown or expired id are refused before a job exists.
local errors = require "firefly.emulator.errors"
local http = require "firefly.emulator.http"
local media = require "firefly.media"
local native = require "firefly.emulator.native"
local outputs = require "firefly.emulator.outputs"
local policy = require "firefly.emulator.policy"
local util = require "firefly.emulator.util"

local uploads = {}

-- An unknown or expired uploadId is a 422 validation_error naming the field
-- [GUESS: Adobe documents neither 400 nor 422 for it; 422 points at the field].
uploads.UNKNOWN_STATUS = 422

local function gateway_error(status, code, message)
  return errors.gateway(status, code, message)
end

-- POST /v2/storage/image: the raw bytes of one JPEG, PNG, WEBP, TIFF or JPEG XL image.
function uploads.upload(app, _ctx, req)
  local declared = http.media_type(req)
  if not media.accepted(declared) then
    -- 415 as Adobe's npm document declares for this path, with its code
    -- invalid_content_type; the 2026 document declares no 415 here at all
    -- [GUESS: the npm document's code, the ErrorBody shape].
    return gateway_error(415, "invalid_content_type",
      "Unsupported Media Type: send " .. table.concat(media.TYPES, ", "))
  end
  if #req.body == 0 then
    return gateway_error(400, "10075", "Bad Request")
  end
  if #req.body > media.MAX_UPLOAD then
    return { status = 413, headers = { ["Content-Type"] = "text/html" },
      body = "<html><body><h1>413 Request Entity Too Large</h1></body></html>" }
  end
  local found, width, height = media.sniff(req.body)
  if found ~= declared then
    -- The bytes are not what Content-Type says [GUESS: Adobe's 400 "Bad Request"].
    return gateway_error(400, "10075", "Bad Request")
  end
  local marks = policy.marks(req.body)
  if marks.unsafe then
    -- The 2026 document declares 451 ContentPolicyErrorResponse on upload.
    return policy.refusal("image_unsafe", "The image was flagged as unsafe.")
  end
  local id = util.uuid4()
  local now = native.now()
  app.uploads[id] = { id = id, type = found, width = width, height = height, marks = marks,
    seed = tonumber(native.sha256(req.body):sub(1, 7), 16),
    created = now, expires = now + app.config.upload_seconds }
  if found == "image/png" then uploads.keep_bytes(app, app.uploads[id], req.body) end
  return errors.json(200, { images = { { id = id } } })
end

-- The record of a live upload, or nil (unknown, or past its expiry).
function uploads.find(app, id)
  local rec = app.uploads[id]
  if rec and native.now() >= rec.expires then
    app.uploads[id] = nil
    return nil
  end
  return rec
end

-- A PNG's bytes are kept for upscale and the composites to draw with, up to
-- --upload-bytes in all: past that the oldest uploads lose their bytes (they
-- keep their id and size, and draw as a stand-in picture), so a week of
-- upload ids cannot hold a week of images in memory [GUESS: Adobe keeps them].
function uploads.keep_bytes(app, rec, bytes)
  local kept = app.upload_bytes or { total = 0, first = 1, last = 0 }
  app.upload_bytes = kept
  rec.bytes = bytes
  kept.total = kept.total + #bytes
  kept.last = kept.last + 1
  kept[kept.last] = rec
  while kept.total > app.config.upload_bytes and kept.first <= kept.last do
    local old = kept[kept.first]
    kept[kept.first] = nil
    kept.first = kept.first + 1
    if old.bytes then
      kept.total = kept.total - #old.bytes
      old.bytes = nil
    end
  end
end

-- Forgets every upload past its expiry (and the bytes it kept).
function uploads.sweep(app, now)
  local kept = app.upload_bytes
  for id, rec in pairs(app.uploads) do
    if now >= rec.expires then
      app.uploads[id] = nil
      if kept and rec.bytes then kept.total = kept.total - #rec.bytes end
      rec.bytes = nil
    end
  end
  -- The queue's head is dropped as far as forgotten uploads reach.
  while kept and kept.first <= kept.last and kept[kept.first].bytes == nil do
    kept[kept.first] = nil
    kept.first = kept.first + 1
  end
end

-- Every `uploadId` in a request body, with its loc, in a stable order.
local function each_upload_id(v, loc, out)
  if type(v) ~= "table" then return out end
  if type(v.uploadId) == "string" then
    local l = { table.unpack(loc) }
    l[#l + 1] = "uploadId"
    out[#out + 1] = { id = v.uploadId, loc = l }
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    if type(v[k]) == "table" then
      local l = { table.unpack(loc) }
      l[#l + 1] = type(k) == "number" and k - 1 or k
      each_upload_id(v[k], l, out)
    end
  end
  return out
end

-- nil when every uploadId in `body` names a live upload; else the 422 response.
function uploads.check(app, body)
  local errs = {}
  for _, u in ipairs(each_upload_id(body, { "body" }, {})) do
    if uploads.find(app, u.id) == nil then
      errs[#errs + 1] = { loc = u.loc, msg = "unknown or expired upload id (upload ids last 7 days)",
        type = "value_error.upload_id" }
    end
  end
  if #errs == 0 then return nil end
  return errors.firefly(uploads.UNKNOWN_STATUS, "validation_error", "Request validation failed.",
    { validation_errors = errs })
end

-- The pixel size behind a source ({uploadId} or one of the emulator's own
-- output URLs), when the emulator knows it.
function uploads.size_of(app, source)
  if type(source) ~= "table" then return nil end
  if type(source.uploadId) == "string" then
    local rec = uploads.find(app, source.uploadId)
    if rec and rec.width then return rec.width, rec.height end
  elseif type(source.url) == "string" then
    local rec = uploads.output_of(app, source.url)
    if rec then return rec.width, rec.height end
  end
  return nil
end

-- The emulator's own output a URL names, or nil.
function uploads.output_of(app, url)
  local id = url:match("/outputs/([%w%-]+)%.png")
  return id and app.outputs[id]
end

-- The PNG a source stands for, to draw with: an uploaded PNG as it came, one
-- of the emulator's outputs as it serves it; any other image (JPEG, WEBP,
-- TIFF, JPEG XL: the emulator decodes PNG only, or a URL it cannot fetch) a
-- stand-in picture of its size seeded by its bytes [GUESS: a stand-in rather
-- than a refusal, so pipelines run offline]. Also returns width and height.
function uploads.png_of(app, source)
  local w, h = uploads.size_of(app, source)
  if type(source) == "table" and type(source.uploadId) == "string" then
    local rec = uploads.find(app, source.uploadId)
    if rec and rec.bytes then return rec.bytes, w, h end
    if rec then return native.png(w or 1024, h or 1024, rec.seed), w or 1024, h or 1024 end
  elseif type(source) == "table" and type(source.url) == "string" then
    local rec = uploads.output_of(app, source.url)
    if rec then return outputs.bytes(app, rec), w, h end
    local seed = tonumber(native.sha256(source.url):sub(1, 7), 16)
    return native.png(1024, 1024, seed), 1024, 1024
  end
  return native.png(1024, 1024, 0), 1024, 1024
end

return uploads
