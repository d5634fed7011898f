-- The few file and shell helpers the library needs, written once: reading a
-- whole file, quoting for /bin/sh, and a portable os.execute result (Lua 5.1
-- and LuaJIT give a number, 5.2+ a boolean and an exit code).

local fs = {}

-- The whole file, or nil and the reason.
function fs.read(path)
  local f, why = io.open(path, "rb")
  if not f then return nil, why end
  local bytes = f:read("*a")
  f:close()
  if bytes == nil then return nil, path .. ": cannot be read" end
  return bytes
end

-- One argument for /bin/sh, whatever it holds.
function fs.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs a shell command; true when it exited 0.
function fs.sh(cmd)
  local a, _, c = os.execute(cmd)
  return a == true or a == 0 or (a == nil and c == 0)
end

function fs.mkdir_p(dir)
  return fs.sh("mkdir -p " .. fs.quote(dir))
end

function fs.rm_rf(path)
  return fs.sh("rm -rf " .. fs.quote(path))
end

return fs
