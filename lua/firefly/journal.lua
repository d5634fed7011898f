-- The journal (`journal = file`): every job a client submits is recorded,
-- fsync'd, with its request key, jobId and statusUrl, before anyone waits
-- for it. Re-running the same pipeline after a crash or Ctrl-C finds each
-- request's job there and re-attaches to it (ff:job) instead of submitting
-- again: Firefly has no idempotency key, and a second submit spends quota.
--
-- One JSON object per line: {"key":..., "op":..., "job_id":..., "status_url":...,
-- "cancel_url":..., "api_url":..., "time":...}. Later lines end an entry:
-- {"key":..., "job_id":..., "failed":true} (the job failed: the request is
-- sent again) or {"key":..., "job_id":..., "retired":...} (its outputs are
-- saved, or it belonged to another api_url: a re-run asks anew).

local cjson = require "firefly.json"
local core = require "firefly.core"
local errors = require "firefly.errors"

local journal = {}

local Journal = {}
Journal.__index = Journal

-- Reads what earlier runs recorded. Each entry is handed out once, so two
-- identical requests in one batch still make two jobs.
function journal.open(path)
  local self = setmetatable({ path = path, found = {} }, Journal)
  -- Only a regular file is read: opening a FIFO would block forever (a
  -- journal that is not a file then fails its first write, with an io error).
  local f = core.file_info(path) == "file" and io.open(path, "rb")
  if f then
    for line in f:lines() do
      local ok, e = pcall(cjson.decode, line)
      if ok and type(e) == "table" and type(e.key) == "string" then
        local list = self.found[e.key] or {}
        if e.failed or e.retired then
          for i = #list, 1, -1 do
            if list[i].job_id == e.job_id then table.remove(list, i) end
          end
        elseif type(e.status_url) == "string" then
          list[#list + 1] = e
        end
        self.found[e.key] = list
      end
    end
    f:close()
  end
  return self
end

-- The job an earlier run submitted for this key, if any is left.
function Journal:take(key)
  local list = self.found[key]
  if list and #list > 0 then return table.remove(list, 1) end
end

-- true, or nil and an io error naming the file and the system's reason.
function Journal:write(entry)
  entry.time = entry.time or os.time()
  local ok, err = core.append_sync(self.path, cjson.encode(entry) .. "\n")
  if not ok then
    return nil, errors.new { kind = "io", job_id = entry.job_id, message = "cannot write the journal " .. err }
  end
  return true
end

function Journal:record(key, op, j, api_url)
  return self:write { key = key, op = op, job_id = j.id, status_url = j.status_url, cancel_url = j.cancel_url,
                      api_url = api_url }
end

-- The entry is done with: why is "saved" or what made it stale.
function Journal:retire(key, j, why)
  return self:write { key = key, job_id = j.id or j.job_id, retired = why or "saved" }
end

local function origin(url)
  local scheme, authority = tostring(url):match("^(%a[%w+.-]*)://([^/?#]+)")
  if not scheme then return nil end
  scheme, authority = scheme:lower(), authority:gsub("^.*@", ""):lower()
  if not authority:find(":%d+$") then authority = authority .. (scheme == "https" and ":443" or ":80") end
  return scheme .. "://" .. authority
end

-- Whether an entry was submitted to the service at api_url. Entries name
-- their api_url; older ones are judged by their statusUrl's origin (Adobe's
-- own hosts all count as one service: statusUrl may name another cluster).
function journal.same_service(entry, api_url)
  if type(entry.api_url) == "string" then return entry.api_url == api_url end
  local theirs, ours = origin(entry.status_url), origin(api_url)
  if theirs == ours then return true end
  local function adobe(o) return o and o:match("^https://[^/]*%.adobe%.io:443$") ~= nil end
  return adobe(theirs) and adobe(ours)
end

function Journal:failed(key, j)
  return self:write { key = key, job_id = j.id, failed = true }
end

return journal
