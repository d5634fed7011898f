-- ff:upload_image: one image to Firefly's storage (POST /v2/storage/image),
-- its upload id back. The media type comes from the file's first bytes, and
-- the size limit is checked before anything is sent.

local errors = require "firefly.errors"
local media = require "firefly.media"
local fs = require "firefly.fs"

local upload = {}

local function refused(message)
  return nil, errors.new { kind = "validation", message = message }
end

local function too_big(name, size)
  return refused(("%s is %d bytes; Firefly takes uploads of at most 15 MB (%d bytes)")
    :format(name, size, media.MAX_UPLOAD))
end

-- The bytes of `path_or_bytes` (image bytes are recognised by their signature,
-- anything else is a path) and their media type; or nil, err. A path must be
-- a regular file no larger than the limit before a byte of it is read.
function upload.load(path_or_bytes)
  local bytes, name = path_or_bytes, "the image"
  if media.sniff(bytes) == nil then
    name = path_or_bytes
    local why, size = fs.unreadable(path_or_bytes)
    if why then return refused("cannot read image file " .. why) end
    if size > media.MAX_UPLOAD then return too_big(name, size) end
    bytes, why = fs.read(path_or_bytes, media.MAX_UPLOAD)
    if not bytes then return refused("cannot read image file " .. tostring(why)) end
  end
  if #bytes > media.MAX_UPLOAD then return too_big(name, #bytes) end
  local mime, why = media.check(bytes)
  if not mime then return refused(name .. " is " .. why) end
  return bytes, mime
end

-- Sends bytes already loaded; returns the id and {id, images, request_id}.
function upload.send(client, bytes, mime, timeout)
  local handle, err = client._core:request("POST", client._opts.api_url .. "/v2/storage/image",
    bytes, mime, "idempotent") -- a repeated upload costs nothing but a second id
  if not handle then return nil, errors.from_core(err) end
  local xfer = client:_transfer(handle)
  local ev, werr = xfer:wait(timeout)
  if not ev then return nil, werr end
  local images = type(ev.data) == "table" and ev.data.images
  local id = type(images) == "table" and type(images[1]) == "table" and images[1].id
  if type(id) ~= "string" then
    return nil, errors.new { kind = "http", status = ev.http_status, request_id = ev.request_id,
      message = "the upload's answer names no image id" }
  end
  return id, { id = id, images = images, request_id = ev.request_id }
end

function upload.run(client, path_or_bytes, opts)
  local bytes, mime = upload.load(path_or_bytes)
  if not bytes then return nil, mime end
  return upload.send(client, bytes, mime, opts and opts.timeout)
end

return upload
