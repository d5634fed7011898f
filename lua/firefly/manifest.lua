-- The provenance manifest (`manifest = file`): one JSON line per saved
-- output, saying what made it: operation, prompt, seed, model version, job
-- and request ids, where it was saved, its sha256, and when.

local cjson = require "firefly.json"
local core = require "firefly.core"
local errors = require "firefly.errors"

local manifest = {}

local Manifest = {}
Manifest.__index = Manifest

function manifest.open(path)
  return setmetatable({ path = path }, Manifest)
end

local function iso_time()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

-- meta: operation, prompt, model_version, job_id, request_id. true, or nil
-- and an io error (a full disk, an unwritable file): never a line dropped silently.
function Manifest:saved(meta, out, path)
  local sum, why = core.sha256_file(path)
  if not sum then return nil, errors.new { kind = "io", message = "cannot read the saved output " .. why } end
  local line = {
    operation = meta.operation, prompt = meta.prompt, seed = out.seed,
    model_version = meta.model_version, job_id = meta.job_id, request_id = meta.request_id,
    from_cache = meta.from_cache or nil,
    path = path, sha256 = sum, time = iso_time(),
  }
  local ok, err = core.append_sync(self.path, cjson.encode(line) .. "\n")
  if not ok then return nil, errors.new { kind = "io", message = "cannot write the manifest " .. err } end
  return true
end

return manifest
