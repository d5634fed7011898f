-- ff:upload_image and the uploads of {path} sources: one image to Firefly's
-- storage (POST /v2/storage/image), its upload id back. The media type comes
-- from the file's first bytes, and the size limit is checked before anything
-- is sent. A file is sent by the engine as the socket takes it, read in
-- bounded chunks (src/engine.c), never whole in memory: an upload is a
-- transfer like any other, stepped by the host or waited for.

local errors = require "firefly.errors"
local media = require "firefly.media"
local fs = require "firefly.fs"

local upload = {}

-- How much of a file is read to know its type and size (the headers
-- media.check reads); a JPEG whose start of frame comes later (a huge EXIF
-- block) is read whole, within the upload limit, to be sure.
local HEAD = 256 * 1024

local function refused(message)
  return nil, errors.new { kind = "validation", message = message }
end

local function too_big(name, size)
  return refused(("%s is %d bytes; Firefly takes uploads of at most 15 MB (%d bytes)")
    :format(name, size, media.MAX_UPLOAD))
end

-- A file's size and media type, or nil, err: a regular file no larger than
-- the limit, before a byte of it is read; then its head, not the whole file.
function upload.inspect(path)
  local why, size = fs.unreadable(path)
  if why then return refused("cannot read image file " .. why) end
  if size > media.MAX_UPLOAD then return too_big(path, size) end
  local head, rerr = fs.head(path, HEAD)
  if not head then return refused("cannot read image file " .. tostring(rerr)) end
  local mime, bad = media.check(head)
  if not mime and size > #head then
    local bytes, werr = fs.read(path, media.MAX_UPLOAD)
    if not bytes then return refused("cannot read image file " .. tostring(werr)) end
    mime, bad = media.check(bytes)
  end
  if not mime then return refused(path .. " is " .. bad) end
  return size, mime
end

-- Image bytes (recognised by their signature) and their media type; or nil, err.
function upload.load(bytes)
  if #bytes > media.MAX_UPLOAD then return too_big("the image", #bytes) end
  local mime, why = media.check(bytes)
  if not mime then return refused("the image is " .. why) end
  return bytes, mime
end

-- The id in an upload's answer (a "done" event), and {id, images, request_id}; or nil, err.
local function answer(ev)
  local images = type(ev.data) == "table" and ev.data.images
  local id = type(images) == "table" and type(images[1]) == "table" and images[1].id
  if type(id) ~= "string" then
    return nil, errors.new { kind = "http", status = ev.http_status, request_id = ev.request_id,
      message = "the upload's answer names no image id" }
  end
  return id, { id = id, images = images, request_id = ev.request_id }
end

local function url(client)
  return client._opts.api_url .. "/v2/storage/image"
end

-- Starts the upload of the file at path (inspected already: mime); returns
-- the transfer, whose result is the upload id once it is done. stamp, if
-- given, is the file's version when it was hashed (core.sha256_file): a file
-- edited since is refused, or its upload fails. on_sent(bytes), if given,
-- hears how much of the body went on, as it goes.
function upload.start(client, path, mime, stamp, on_sent)
  local handle, err = client._core:upload(url(client), path, mime, stamp)
  if not handle then return nil, errors.from_core(err) end
  local xfer = client:_transfer(handle)
  xfer._quiet = true -- its events are its job's, not the host's
  xfer._on_sent = on_sent
  xfer._finish = function(ev)
    local id, info = answer(ev)
    if not id then return nil, info end
    xfer.info = info
    return id
  end
  return xfer
end

-- Sends bytes already in memory; returns the id and {id, images, request_id}.
function upload.send(client, bytes, mime, timeout)
  local handle, err = client._core:request("POST", url(client), bytes, mime,
    "idempotent") -- a repeated upload costs nothing but a second id
  if not handle then return nil, errors.from_core(err) end
  local ev, werr = client:_transfer(handle):wait(timeout)
  if not ev then return nil, werr end
  return answer(ev)
end

function upload.run(client, path_or_bytes, opts)
  local timeout = opts and opts.timeout
  if media.sniff(path_or_bytes) ~= nil then
    local bytes, mime = upload.load(path_or_bytes)
    if not bytes then return nil, mime end
    return upload.send(client, bytes, mime, timeout)
  end
  local size, mime = upload.inspect(path_or_bytes)
  if not size then return nil, mime end
  local xfer, err = upload.start(client, path_or_bytes, mime, nil)
  if not xfer then return nil, err end
  local id, werr = xfer:wait(timeout)
  if not id then return nil, werr end
  return id, xfer.info
end

return upload
