-- The few file helpers the library needs, written once: reading a whole
-- (regular, bounded) file or its head, making and removing folders through the core (no
-- shell), and, for the benchmarks' commands, quoting for /bin/sh and a portable
-- os.execute result (Lua 5.1 and LuaJIT give a number, 5.2+ a boolean and a code).

local core = require "firefly.core"

local fs = {}

local KINDS = { directory = "a directory", fifo = "a FIFO", device = "a device", socket = "a socket",
                other = "not a regular file" }

-- Why path cannot be read as a file of at most max bytes, or nil: the type
-- and size are looked at before anything is opened (a FIFO blocks the open,
-- /dev/zero never ends).
function fs.unreadable(path, max)
  -- C would stop at the NUL and read another file: a reason, not a raise from the core.
  -- Each reason starts "PATH: ", as the core's own (stat's) do.
  if path:find("\0", 1, true) then return ("%q: contains a NUL byte"):format(path) end
  local kind, size = core.file_info(path)
  if not kind then return size end
  if kind ~= "file" then return path .. ": is " .. KINDS[kind] .. ", not a regular file" end
  if max and size > max then return ("%s: is %d bytes, more than %d"):format(path, size, max) end
  return nil, size
end

-- The whole file (at most max bytes when max is given), or nil and the reason.
function fs.read(path, max)
  local why = fs.unreadable(path, max)
  if why then return nil, why end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  -- The size was looked at first, but a file may grow: never read past max.
  local bytes = f:read(max and max + 1 or "*a")
  f:close()
  if bytes == nil then return max and "" or nil, path .. ": cannot be read" end
  if max and #bytes > max then return nil, ("%s: is more than %d bytes"):format(path, max) end
  return bytes
end

-- The first n bytes of a file (all of it when shorter), or nil and the reason.
function fs.head(path, n)
  local why = fs.unreadable(path)
  if why then return nil, why end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local bytes = f:read(n)
  f:close()
  return bytes or ""
end

function fs.mkdir_p(dir)
  return core.mkdir_p(dir)
end

function fs.rm_rf(path)
  return core.remove_tree(path)
end

-- One argument for /bin/sh, whatever it holds (the launcher needs none: core.spawn).
function fs.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs a shell command; true when it exited 0.
function fs.sh(cmd)
  local a, _, c = os.execute(cmd)
  return a == true or a == 0 or (a == nil and c == 0)
end

return fs
