-- What a batch run knows about its rows, kept in DIR/rows.jsonl beside the
-- client's journal and manifest: one fsync'd JSON line per row that ended
-- (succeeded, failed or canceled), with its outputs, job id and error. The last
-- line for a row wins. A re-run reads it to skip finished rows and to
-- draw the gallery; the journal (firefly's) re-attaches to jobs in flight.

local cjson = require("cjson").new()
local core = require "firefly.core"
local fs = require "firefly.fs"

local state = {}

local State = {}
State.__index = State

-- The state at path (none yet when there is no file); nil and why when something other
-- than a regular file has the name (a FIFO would block the open).
function state.open(path)
  local self = setmetatable({ path = path, rows = {} }, State)
  local kind = core.file_info(path)
  if kind and kind ~= "file" then
    return nil, (fs.unreadable(path))
  end
  local f = kind and io.open(path, "rb")
  if f then
    for line in f:lines() do
      local ok, e = pcall(cjson.decode, line)
      if ok and type(e) == "table" and type(e.key) == "string" then self.rows[e.key] = e end
    end
    f:close()
  end
  return self
end

-- The last record of the row with this key, or nil.
function State:get(key)
  return self.rows[key]
end

-- Records a row's outcome; true, or nil and the system's message.
function State:put(entry)
  entry.time = os.date("!%Y-%m-%dT%H:%M:%SZ")
  self.rows[entry.key] = entry
  return core.append_sync(self.path, cjson.encode(entry) .. "\n")
end

return state
