-- Results mirror Adobe's JSON (result.size, result.outputs[i].seed,
-- result.outputs[i].image.url); each output also knows how to fetch itself.
-- Whatever the result shape (operations.lua: images, upscale, video), every
-- output gets `url`, beside Adobe's own fields as they came.

local errors = require "firefly.errors"

local result = {}

-- The client an output came from, kept aside so results stay plain data;
-- likewise a local copy (a cache hit) and who wants to hear of a save.
local owner = setmetatable({}, { __mode = "k" })
local local_file = setmetatable({}, { __mode = "k" })
local on_saved = setmetatable({}, { __mode = "k" })

function result.local_file(out, path) local_file[out] = path end
function result.on_saved(out, fn) on_saved[out] = fn end

-- Copies src to path through a temporary name, as a download would.
local function copy(src, path)
  local from, err = io.open(src, "rb")
  if not from then return nil, errors.new { kind = "io", message = tostring(err) } end
  local tmp = path .. ".part-copy"
  local to, werr = io.open(tmp, "wb")
  if not to then
    from:close()
    return nil, errors.new { kind = "io", message = tostring(werr) }
  end
  while true do
    local chunk = from:read(65536)
    if not chunk then break end
    to:write(chunk)
  end
  from:close()
  to:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then
    os.remove(tmp)
    return nil, errors.new { kind = "io", message = tostring(rerr) }
  end
  return path
end

local Output = {}
Output.__index = Output

-- Where an output's file is: image.url (JobResult), video.url (video's
-- result), presignedUrl (upscale's PreciseUpsamplerResponse).
local function url_of(out)
  local media = type(out.image) == "table" and out.image or type(out.video) == "table" and out.video
  local url = media and media.url or out.presignedUrl
  return type(url) == "string" and url or nil
end

-- Adobe's presigned output URLs last an hour; a 403 after that deserves saying so.
local function explain(err, what)
  if err.kind == "http" and err.status == 403 then
    err.message = what .. " was refused (HTTP 403): Firefly's output URLs expire an hour after the job"
  end
  return err
end

-- Streams the output to path (a temporary name first, renamed once complete).
function Output:save(path)
  if type(path) ~= "string" or path == "" then
    error("output:save: path must be a non-empty string", 2)
  end
  if local_file[self] then
    local ok, err = copy(local_file[self], path)
    if not ok then return nil, err end
  else
    local url = self.url or url_of(self)
    if not url then return nil, errors.new { kind = "validation", message = "this output has no URL" } end
    local xfer, err = owner[self]:_download(url, path)
    if not xfer then return nil, err end
    local ok, werr = xfer:wait()
    if not ok then return nil, explain(werr, "the download of " .. path) end
  end
  if on_saved[self] then on_saved[self](self, path) end
  return path
end

-- The output's bytes, in memory.
function Output:bytes()
  if local_file[self] then
    local f, err = io.open(local_file[self], "rb")
    if not f then return nil, errors.new { kind = "io", message = tostring(err) } end
    local s = f:read("*a")
    f:close()
    return s
  end
  local url = self.url or url_of(self)
  if not url then return nil, errors.new { kind = "validation", message = "this output has no URL" } end
  local xfer, err = owner[self]:_download(url, nil)
  if not xfer then return nil, err end
  local ev, werr = xfer:wait()
  if not ev then return nil, explain(werr, "the download") end
  return ev.body
end

-- cjson decodes every JSON number as a float; on Lua 5.3+ give back integers
-- where JSON had them, so a seed prints as 42 and not 42.0.
local tointeger = math.tointeger
local function integers(t, depth)
  if not tointeger or depth > 16 then return t end
  for k, v in pairs(t) do
    if type(v) == "number" then
      local i = tointeger(v)
      if i then t[k] = i end
    elseif type(v) == "table" then
      integers(v, depth + 1)
    end
  end
  return t
end
result.integers = function(t) return integers(t, 0) end

-- Wraps Adobe's `result` object from a succeeded job document.
function result.new(client, data, meta)
  local r = integers(data or {}, 0)
  r.outputs = r.outputs or {}
  for _, out in ipairs(r.outputs) do
    owner[out] = client
    if type(out) == "table" then
      out.url = out.url or url_of(out)
      setmetatable(out, Output)
    end
  end
  r.job_id = meta.job_id
  r.request_id = meta.request_id
  return r
end

return result
