-- Local files as image inputs. Wherever a request body takes an image
-- `source`, it may say `{path = "art/hero.png"}`: the client uploads the file
-- first (POST /v2/storage/image) and sends `{uploadId = ...}` in its place.
-- A file's content is uploaded once per client: its digest maps to the id
-- while the id is young (Adobe keeps upload ids 7 days).

local core = require "firefly.core"
local errors = require "firefly.errors"
local operations = require "firefly.operations"
local upload = require "firefly.upload"
local validate = require "firefly.validate"

local inputs = {}

-- Reuse an id for at most 6 days of its 7 [GUESS: a margin for clock skew].
inputs.REUSE_SECONDS = 6 * 86400
-- A valid uuid4 standing in for ids not yet known, to validate before uploading.
local PLACEHOLDER = "00000000-0000-4000-8000-000000000000"

-- A file is known by its content: its sha256, read by the core in 64 KiB
-- chunks (the one read of a whole file left inside the call; the upload
-- itself reads it again, in the engine, as the socket takes it).
local function digest(path)
  local sum, stamp = core.sha256_file(path)
  if not sum then
    return nil, errors.new { kind = "validation", message = "cannot read image file " .. tostring(stamp) }
  end
  return sum, stamp
end

-- What a body without files gives (most bodies): one shared list, read only, so a call
-- without files makes no table for it.
local NONE = setmetatable({}, { __newindex = function() error("firefly: the list of no files is read only", 2) end })

-- Every {path = ...} source in a body, found by walking it: {holder, key, path}. out is
-- made at the first one found (nil until then).
local function find(v, out)
  if type(v) ~= "table" then return out end
  for k, x in pairs(v) do
    if k == "source" and type(x) == "table" and x.path ~= nil then
      out = out or {}
      out[#out + 1] = { holder = v, path = x.path, source = x }
    elseif type(x) == "table" then
      out = find(x, out)
    end
  end
  return out
end

local function copy(v, swap)
  if type(v) ~= "table" then return v end
  if swap[v] then return swap[v] end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x, swap) end
  return out
end

-- A body with every {path} source replaced, using `ids` (source -> uploadId).
local function replaced(body, found, ids)
  local swap = {}
  for _, f in ipairs(found) do swap[f.source] = { uploadId = ids[f.source] or PLACEHOLDER } end
  return copy(body, swap)
end

local function bad_path(message)
  return nil, errors.new { kind = "validation", message = message }
end

-- Checks a body without sending anything: every file is read and checked
-- (against the operation's input size limit too), and in "strict" mode the rest
-- validated with stand-in ids. Returns the files ({path, size, mime, digest}
-- per source, in body order) or nil, err. The CLI's dry run uses it too.
-- `op`: a registry name or entry (firefly.operations); opts: model_version,
-- validate ("strict" when nil), warn (gets what "warn" mode lets through),
-- body_judged (the caller validates the body itself, with inputs.stand_in),
-- no_digest (the caller hashes the files later, with inputs.hash: digest nil).
function inputs.check(op, body, opts)
  opts = opts or {}
  local entry = type(op) == "table" and op or operations.get(op)
  local mode = opts.validate or "strict"
  local found = find(body, nil) or NONE
  local files = #found > 0 and {} or NONE
  for _, f in ipairs(found) do
    for k in pairs(f.source) do
      if k ~= "path" then
        return bad_path(("an image source with a path takes nothing else (got %s too)"):format(tostring(k)))
      end
    end
    if type(f.path) ~= "string" or f.path == "" then
      return bad_path("an image source's path must be a non-empty string")
    end
    local size, mime = upload.inspect(f.path)
    if not size then return nil, mime end
    local limit = entry and entry.max_input_bytes
    if limit and size > limit and mode ~= "off" then
      local why = ("%s is %d bytes; %s takes inputs of at most %d MB (%d bytes)"):format(f.path, size,
        entry.method, math.floor(limit / 1048576), limit)
      if mode ~= "warn" then return bad_path(why) end
      if opts.warn then opts.warn(why .. " (sent anyway: validate = \"warn\")") end
    end
    local sum, stamp
    if not opts.no_digest then
      sum, stamp = digest(f.path)
      if not sum then return nil, stamp end
    end
    -- stamp: the file's version as hashed; its upload fails if it is another by then.
    files[#files + 1] = { path = f.path, size = size, mime = mime, digest = sum, stamp = stamp, source = f.source }
  end
  if mode == "strict" and not opts.body_judged then
    local list = validate.request(entry and entry.name or op, replaced(body, found, {}),
      { model_version = opts.model_version })
    if list then return nil, errors.validation(list, validate) end
  end
  return files, found
end

-- The body with stand-in upload ids for its files, to validate before any upload.
function inputs.stand_in(body, files)
  if #files == 0 then return body end
  return replaced(body, files, {})
end

-- The body as the request's identity (cache and journal key): each file
-- stands for its content, so the same file is the same request whatever its
-- upload id, and an edited file is another request. files: inputs.check's.
function inputs.identity(body, files)
  if #files == 0 then return body end
  local swap = {}
  for _, f in ipairs(files) do swap[f.source] = { sha256 = f.digest } end
  return copy(body, swap)
end

-- The upload ids already known for some files (source -> id: an upload of
-- the same content by this client, while the id is young) and the files
-- still to upload.
function inputs.known(client, files)
  local known = client._uploads or {}
  client._uploads = known
  local ids, todo = {}, {}
  for _, f in ipairs(files) do
    local hit = known[f.digest]
    if hit and client:_clock() - hit.at < inputs.REUSE_SECONDS then
      ids[f.source] = hit.id
    else
      todo[#todo + 1] = f
    end
  end
  return ids, todo
end

-- One upload per content in flight, shared by every job that needs it: the
-- first starts it, the others wait for its id (client._sending: digest ->
-- share). A waiter that gives up leaves the others theirs; the upload stops
-- only when nobody is left waiting for it.
local function share(client, f)
  client._sending = client._sending or {}
  local sh = client._sending[f.digest]
  if sh then return sh end
  sh = { waiters = {} }
  local xfer, err = upload.start(client, f.path, f.mime, f.stamp, function(bytes)
    for _, w in ipairs(sh.waiters) do w.on_sent(bytes) end
  end)
  if not xfer then return nil, err end
  sh.xfer = xfer
  xfer._then = function(id, uerr)
    if client._sending[f.digest] == sh then client._sending[f.digest] = nil end
    if id then client._uploads[f.digest] = { id = id, at = client:_clock() } end
    for _, w in ipairs(sh.waiters) do w.over(id, uerr) end
  end
  client._sending[f.digest] = sh
  return sh
end

-- A job's place in a share: cancel() as a transfer's (Job:cancel calls it).
local Waiter = {}
Waiter.__index = Waiter

function Waiter:cancel()
  local sh, list = self.share, self.share.waiters
  if #list == 1 and list[1] == self then return sh.xfer:cancel() end -- its end comes as the upload's
  for k, w in ipairs(list) do
    if w == self then
      table.remove(list, k)
      self.over(nil, errors.new { kind = "canceled", message = "cancelled" })
      return true
    end
  end
  return false
end

-- Starts the uploads of `todo` (or joins those of the same content in
-- flight already), all at once, as transfers of the engine: on_sent(bytes)
-- hears how many bytes of them all went on so far, and over(ids) comes once
-- every file is up (ids: source -> upload id, the known ones included), or
-- over(nil, err) at the first failure (the others are given up). Returns the
-- uploads (each with cancel()), or nil, err when one cannot start.
function inputs.start(client, todo, ids, on_sent, over)
  local sent, left, xfers, failed = {}, #todo, {}, false
  local function total()
    local n = 0
    for i = 1, #todo do n = n + (sent[i] or 0) end
    return n
  end
  for i, f in ipairs(todo) do
    local sh, err = share(client, f)
    if not sh then
      failed = true
      for _, x in ipairs(xfers) do x:cancel() end
      return nil, err
    end
    local w = setmetatable({ share = sh }, Waiter)
    w.on_sent = function(bytes)
      sent[i] = bytes
      on_sent(total())
    end
    w.over = function(id, uerr)
      if failed then return end
      if not id then
        failed = true
        for _, x in ipairs(xfers) do if x ~= w then x:cancel() end end
        return over(nil, uerr)
      end
      ids[f.source], sent[i], left = id, f.size, left - 1
      on_sent(total())
      if left == 0 then over(ids) end
    end
    sh.waiters[#sh.waiters + 1] = w
    xfers[i] = w
  end
  return xfers
end

-- Hashes the files (inputs.check's, with no_digest) on the client's worker
-- thread (src/commit.h), never inside the call: over(true) once every digest
-- and stamp is in its file, or over(nil, err) at the first failure (the
-- others are stopped). Returns the transfers (to cancel), or nil, err when
-- one cannot start. Each file is read once, however often the body names it.
function inputs.hash(client, files, over)
  local xfers, left, failed, by_path = {}, 0, false, {}
  local function stop()
    for _, x in ipairs(xfers) do x:cancel() end
  end
  for _, f in ipairs(files) do
    local same = by_path[f.path]
    if same then
      same[#same + 1] = f
    else
      by_path[f.path] = { f }
      local handle, err = client._core:hash(f.path)
      if not handle then
        failed = true
        stop()
        return nil, errors.from_core(err)
      end
      local xfer = client:_transfer(handle)
      xfer._quiet = true -- its events are its job's, not the host's
      left = left + 1
      local group = by_path[f.path]
      xfer._then = function(ev, herr)
        if failed then return end
        if not ev then
          failed = true
          stop()
          return over(nil, herr)
        end
        for _, g in ipairs(group) do g.digest, g.stamp = ev.body, ev.stamp end
        left = left - 1
        if left == 0 then over(true) end
      end
      xfers[#xfers + 1] = xfer
    end
  end
  if left == 0 then over(true) end
  return xfers
end

-- The body to send: each {path} source replaced by {uploadId = ...}.
function inputs.sending(body, files, ids)
  if #files == 0 then return body end
  return replaced(body, files, ids)
end

return inputs
