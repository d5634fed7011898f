-- Results mirror Adobe's JSON (result.size, result.outputs[i].seed,
-- result.outputs[i].image.url); each output also knows how to fetch itself.
-- Whatever the result shape (operations.lua: images, upscale, video), every
-- output gets `url`, beside Adobe's own fields as they came.

local core = require "firefly.core"
local errors = require "firefly.errors"
local fs = require "firefly.fs"
local media = require "firefly.media"
local options = require "firefly.options"
local scheduler = require "firefly.scheduler"

local result = {}

-- The client an output came from, kept aside so results stay plain data;
-- likewise a local copy (a cache hit) and who wants to hear of a save.
local owner = setmetatable({}, { __mode = "k" })
local local_file = setmetatable({}, { __mode = "k" })
local on_saved = setmetatable({}, { __mode = "k" })

function result.local_file(out, path) local_file[out] = path end
function result.on_saved(out, fn) on_saved[out] = fn end

local Output = {}
Output.__index = Output

-- Where an output's file is: image.url (JobResult), video.url (video's
-- result), presignedUrl (upscale's PreciseUpsamplerResponse).
local function url_of(out)
  local file = type(out.image) == "table" and out.image or type(out.video) == "table" and out.video
  local url = file and file.url or out.presignedUrl
  return type(url) == "string" and url or nil
end

-- What a save or bytes() fetches: out.url as the server gave it (a number is
-- refused by Client:_download, never coerced), else one found in the shape.
local function fetchable(out)
  local url = out.url
  if url == nil then url = url_of(out) end
  -- The server's document is at fault, not the caller: an http error, as for any bad answer.
  if url == nil then
    return nil, errors.new { kind = "http", message = "the server's answer gives this output no URL: nothing to fetch" }
  end
  return url
end

-- Adobe's presigned output URLs last an hour; a 403 after that deserves saying so.
local function explain(err, what)
  if err.kind == "http" and err.status == 403 then
    err.message = what .. " was refused (HTTP 403): Firefly's output URLs expire an hour after the job"
  end
  return err
end

local function not_whole(what, why)
  return nil, errors.new { kind = "transport",
    message = ("%s ended as a broken file (%s): the server sent a short or mislabelled body; nothing was saved")
      :format(what, why) }
end

-- The head and tail of a file just saved, to ask media.whole about it: those the core
-- kept as the bytes went to the file (its done event's head, tail and size), else read back.
local function ends_of(path, ev)
  if type(ev) == "table" and ev.head then return ev.head, ev.tail, ev.size end
  local f = io.open(path, "rb")
  if not f then return "", "", 0 end
  local head = f:read(32) or ""
  local size = f:seek("end")
  f:seek("set", math.max(0, size - 16))
  local tail = f:read(16) or ""
  f:close()
  return head, tail, size
end

-- Downloads url to path (a temporary name first, renamed once complete) and
-- checks the file is whole by its own header; nil, err otherwise, with
-- nothing left at path. The one way an output reaches the disk.
-- A finished download at path is whole by its own header, or removed.
local function checked(path, ev)
  local whole, why = media.whole(ends_of(path, ev))
  if not whole then
    os.remove(path)
    return not_whole("the download of " .. path, why)
  end
  return true
end

function result.fetch(client, url, path)
  local xfer, err = client:_download(url, path)
  if not xfer then return nil, err end
  local ok, werr = xfer:wait()
  if not ok then return nil, explain(werr, "the download of " .. path) end
  local whole, why = checked(path, ok)
  if not whole then return nil, why end
  return ok
end

-- A provenance line that could not be written fails the save: never a silent gap.
local function saved(out, path)
  if on_saved[out] then
    local ok, err = on_saved[out](out, path)
    if not ok then return nil, err end
  end
  return path
end

-- An operation over already (a cache hit's local file): its end is queued
-- for the host's next ff:step like any other.
local function finished(client, kind, path, value, err)
  local op = require("firefly.job").transfer(client, nil) -- job.lua requires this file: load it late
  op.kind, op.path = kind, path
  op.result, op.err, op.finished = value, err, true
  client._queue[#client._queue + 1] = { type = err and "error" or "done", job = op, err = err }
  return op
end

-- out:save(path, {wait = false}): the download is an engine transfer the host
-- steps like a job (its "done" or "error" comes out of ff:step; op:wait()
-- gives the path); a cache hit's local copy is one too, copied and fsynced
-- on the client's worker thread (src/commit.h), never inside the call.
local function save_later(out, path)
  local client = owner[out]
  scheduler.open_queue(client)
  local xfer, err
  if local_file[out] then
    local handle, cerr = client._core:copy_start(local_file[out], path)
    if not handle then return finished(client, "save", path, nil, errors.from_core(cerr)) end
    xfer = client:_transfer(handle)
    xfer._finish = function() return saved(out, path) end
    xfer.kind, xfer.path = "save", path
    scheduler.watch(client, xfer)
    return xfer
  end
  local url, uerr = fetchable(out)
  if not url then return nil, uerr end
  xfer, err = client:_download(url, path)
  if not xfer then return nil, err end
  xfer._finish = function(ev)
    local whole, why = checked(path, ev)
    if not whole then return nil, why end
    return saved(out, path)
  end
  xfer._on_error = function(e) return explain(e, "the download of " .. path) end
  xfer.kind, xfer.path = "save", path
  scheduler.watch(client, xfer)
  return xfer
end

local SAVE_OPTIONS = { wait = "boolean" }

-- out.save(path) / out.bytes(): self is then not an output; say so, not "index a nil value".
local function check_self(self, name)
  if type(self) ~= "table" or owner[self] == nil then
    error(("output:%s: call it with a colon, out:%s(...), not out.%s(...)"):format(name, name, name), 3)
  end
end

-- Streams the output to path (a temporary name first, renamed once complete).
-- opts: wait = false returns an operation at once (see save_later).
function Output:save(path, opts)
  check_self(self, "save")
  if type(path) ~= "string" or path == "" then
    error("output:save: path must be a non-empty string", 2)
  end
  -- C would stop at the NUL and save under a shorter name.
  if path:find("\0", 1, true) then error("output:save: path contains a NUL byte", 2) end
  opts = options.check("output:save", opts, SAVE_OPTIONS, 3)
  if opts.wait == false then return save_later(self, path) end
  if local_file[self] then
    local ok, err = owner[self]._core:copy(local_file[self], path)
    if not ok then return nil, errors.from_core(err) end
  else
    local url, uerr = fetchable(self)
    if not url then return nil, uerr end
    local ok, err = result.fetch(owner[self], url, path)
    if not ok then return nil, err end
  end
  return saved(self, path)
end

local FETCH_OPTIONS = { wait = "boolean" }

-- The output's bytes, in memory. out:fetch{wait = false} returns at once an
-- operation stepped like a job (ff:step gives its end; op:wait() the bytes).
function Output:fetch(opts)
  check_self(self, "fetch")
  opts = options.check("output:fetch", opts, FETCH_OPTIONS, 3)
  local client = owner[self]
  if opts.wait == false then scheduler.open_queue(client) end
  if local_file[self] then
    local s, err = fs.read(local_file[self], client._opts.max_download)
    local e = not s and errors.new { kind = "io", message = tostring(err) } or nil
    if opts.wait == false then return finished(client, "fetch", nil, s, e) end
    return s, e
  end
  local url, uerr = fetchable(self)
  if not url then return nil, uerr end
  local xfer, err = client:_download(url, nil)
  if not xfer then return nil, err end
  xfer._finish = function(ev)
    local whole, why = media.whole(ev.body:sub(1, 32), ev.body:sub(-16), #ev.body)
    if not whole then return not_whole("the download", why) end
    return ev.body
  end
  xfer._on_error = function(e) return explain(e, "the download") end
  xfer.kind = "fetch"
  if opts.wait == false then
    scheduler.watch(client, xfer)
    return xfer
  end
  return xfer:wait()
end

function Output:bytes()
  check_self(self, "bytes")
  return self:fetch()
end

-- cjson decodes every JSON number as a float; on Lua 5.3+ give back integers
-- where JSON had them, so a seed prints as 42 and not 42.0. The core walks the
-- table (down to 16 levels): in the VM this walk was a job's costliest Lua after
-- checking its body.
local integers = core.integers
result.integers = integers

-- Wraps Adobe's `result` object from a succeeded job document, with the job's id and request id.
function result.new(client, data, job_id, request_id)
  local r = integers(data or {})
  r.outputs = r.outputs or {}
  for _, out in ipairs(r.outputs) do
    owner[out] = client
    if type(out) == "table" then
      out.url = out.url or url_of(out)
      setmetatable(out, Output)
    end
  end
  r.job_id = job_id
  r.request_id = request_id
  return r
end

return result
