-- The result cache (`cache = dir`): a request already answered is answered
-- again from disk, with no network call. The key is the operation, the model
-- version and the request as canonical JSON (sorted keys; seeds included; a
-- local input file by the sha256 of its content). Only requests with explicit
-- seeds are cached unless a call says `cache = true`: without seeds Firefly
-- picks random ones, and a cached answer would not be what a new call gives.
--
-- Layout: <dir>/<key>/entry.json (Adobe's result, job and request ids) and
-- the outputs beside it (<dir>/<key>/1.png ...). An entry is built in a
-- temporary directory and renamed into place, so a reader never sees half.

local cjson = require "firefly.json"
local core = require "firefly.core"
local errors = require "firefly.errors"
local fs = require "firefly.fs"

local cache = {}

-- A regular file, looked at without opening it (a FIFO would block the open).
local function is_file(path)
  if path:match("^%a[%w+.-]*://") then return false end
  return core.file_info(path) == "file"
end

local INPUT_KEYS = { source = true, path = true, file = true }

local function canonical(v, parent_key, out)
  local t = type(v)
  if t == "table" then
    local n = #v
    local count = 0
    for _ in pairs(v) do count = count + 1 end
    if count > 0 and count == n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        canonical(v[i], parent_key, out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = cjson.encode(k) .. ":"
        local value = v[k]
        if value == nil then value = v[tonumber(k)] end
        canonical(value, k, out)
      end
      out[#out + 1] = "}"
    end
  elseif t == "string" then
    -- A local input file stands for its content: edit the file, miss the cache.
    if INPUT_KEYS[parent_key] and is_file(v) then
      out[#out + 1] = cjson.encode("sha256:" .. assert(core.sha256_file(v)))
    else
      out[#out + 1] = cjson.encode(v)
    end
  elseif t == "number" then
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
      out[#out + 1] = string.format("%d", v)
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  else
    out[#out + 1] = cjson.encode(v)
  end
  return out
end

function cache.canonical(v)
  return table.concat(canonical(v, nil, {}))
end

-- The request key shared by the cache and the journal.
function cache.key(op, model_version, body)
  return core.sha256(op .. "\n" .. (model_version or "") .. "\n" .. cache.canonical(body))
end

-- Whether Firefly would give the same answer again: every variation seeded.
function cache.reproducible(body)
  local seeds = body.seeds
  if type(seeds) ~= "table" or #seeds == 0 then return false end
  return #seeds >= (tonumber(body.numVariations) or 1)
end


local Cache = {}
Cache.__index = Cache

function cache.open(dir)
  return setmetatable({ dir = dir }, Cache)
end

local function io_error(message)
  return nil, errors.new { kind = "io", message = message }
end

-- The stored entry for key: { result = Adobe's result, files = {path per output} }.
function Cache:get(key)
  local base = self.dir .. "/" .. key
  local text = fs.read(base .. "/entry.json")
  if not text then return nil end
  local ok, entry = pcall(cjson.decode, text)
  if not ok or type(entry) ~= "table" or type(entry.result) ~= "table" then return nil end
  local files = {}
  for i, name in ipairs(entry.files or {}) do
    files[i] = base .. "/" .. name
    if not is_file(files[i]) then return nil end
  end
  return { result = entry.result, files = files, job_id = entry.job_id, request_id = entry.request_id }
end

local function extension(url)
  local path = tostring(url or ""):match("^[^?#]*") or ""
  return path:match("%.(%w+)$") or "bin"
end

-- Stores a finished result: fetch(url, path) downloads one output. Returns
-- the paths of the stored outputs, or nil, err (the cache then stays as it was).
function Cache:put(key, r, fetch)
  -- Entries a killed run was building (an hour old): gone before this one starts.
  if not self.cleaned then
    self.cleaned = true
    core.clean_cache(self.dir)
  end
  local final = self.dir .. "/" .. key
  local tmp = ("%s/.tmp-%s-%d-%d"):format(self.dir, key, math.random(1, 1e9), math.floor(core.now() * 1e6) % 1e9)
  local made, why = fs.mkdir_p(tmp)
  if not made then return io_error("cannot store the result in the cache: " .. why) end
  local names, plain = {}, {}
  for i, out in ipairs(r.outputs) do
    -- out.url: every result shape's output URL (result.new sets it).
    local name = ("%d.%s"):format(i, extension(out.url))
    local ok, err = fetch(out.url, tmp .. "/" .. name)
    if not ok then
      fs.rm_rf(tmp)
      return nil, err
    end
    names[i] = name
  end
  for k, v in pairs(r) do
    if k ~= "job_id" and k ~= "request_id" then plain[k] = v end
  end
  -- append_sync checks every write and the fsync: a full disk is an error, never a short entry.
  local ok, err = core.append_sync(tmp .. "/entry.json",
    cjson.encode { result = plain, files = names, job_id = r.job_id, request_id = r.request_id })
  if not ok then
    fs.rm_rf(tmp)
    return io_error("cannot write the cache entry " .. err)
  end
  if not os.rename(tmp, final) then
    -- Another run stored the same key first: theirs is as good as ours.
    fs.rm_rf(tmp)
  end
  local paths = {}
  for i, name in ipairs(names) do paths[i] = final .. "/" .. name end
  return paths
end

return cache
