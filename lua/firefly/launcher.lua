-- firefly.launcher: start a local firefly-emulator from Lua, for demos,
-- examples and offline pipeline work that must not spend Firefly quota.
--
--   local emu = require("firefly.launcher").start{job_seconds = 1}
--   local ff = require("firefly").new{client_id = emu.client_id,
--     client_secret = emu.client_secret, api_url = emu.url, ims_url = emu.url}
--   ...
--   emu.stop()
--
-- No shell: the emulator is started by the core's spawn (posix_spawnp), so it
-- runs the same on Lua 5.1 to 5.4 and LuaJIT, whatever the paths hold.

local core = require "firefly.core"
local fs = require "firefly.fs"

local launcher = {}

local DEFAULT_ID, DEFAULT_SECRET = "emulator-client-id", "emulator-client-secret"

local slurp = fs.read

-- The executable: opts.exe, then $FIREFLY_EMULATOR, then firefly-emulator on PATH.
function launcher.find(exe)
  exe = exe or os.getenv("FIREFLY_EMULATOR")
  if exe and exe ~= "" then return exe end
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local path = dir .. "/firefly-emulator"
    if core.file_info(path) == "file" then return path end
  end
  return nil, "firefly-emulator not found: set FIREFLY_EMULATOR or put it on PATH "
    .. "(`make` builds build/bin/firefly-emulator; `eval \"$(make -s env)\"` sets both)"
end

-- Flags from options: named ones, then opts.flags as a list ({"--seed", "7"})
-- or a map ({seed = 7, ["url-seconds"] = 60}; true for a bare flag).
local NAMED = { "job_seconds", "token_seconds", "url_seconds", "seed", "public_url", "log", "host" }

local function flag_args(opts)
  local args = { "--port", tostring(opts.port or 0),
    "--client-id", opts.client_id, "--client-secret", opts.client_secret }
  for _, k in ipairs(NAMED) do
    if opts[k] ~= nil then
      args[#args + 1] = "--" .. k:gsub("_", "-")
      args[#args + 1] = tostring(opts[k])
    end
  end
  local extra = opts.flags or {}
  for _, v in ipairs(extra) do args[#args + 1] = tostring(v) end
  for k, v in pairs(extra) do
    if type(k) == "string" then
      args[#args + 1] = "--" .. k:gsub("_", "-")
      if v ~= true then args[#args + 1] = tostring(v) end
    end
  end
  return args
end

--[[
** The emulator is started without a shell (core.spawn: posix_spawnp with an
** argument vector), so no path or flag value is ever read by /bin/sh. Its
** stdin is a pipe whose only writer is this process (the end kept here is
** close-on-exec: no other child inherits it), and it runs with
** --exit-on-stdin-eof: however this process ends, kill -9 included, the
** kernel closes that pipe and the emulator ends with it; --parent-pid (this
** process) is the second lifeline. Its first line on stdout is its URL;
** reading blocks until it comes, or until EOF if it dies first, so there is
** no polling.
]]
function launcher.start(opts)
  if opts ~= nil and type(opts) ~= "table" then error("launcher.start: opts must be a table", 2) end
  opts = opts or {}
  local exe, why = launcher.find(opts.exe)
  if not exe then return nil, why end
  local cfg = {}
  for k, v in pairs(opts) do cfg[k] = v end
  cfg.client_id = opts.client_id or DEFAULT_ID
  cfg.client_secret = opts.client_secret or DEFAULT_SECRET

  local argv = { exe }
  for _, a in ipairs(flag_args(cfg)) do argv[#argv + 1] = a end
  for i, a in ipairs(argv) do
    if a:find("\0", 1, true) then
      return nil, ("firefly-emulator did not start: its argument %d (%q) contains a NUL byte"):format(i - 1, a)
    end
  end
  local errfile = os.tmpname()
  for _, a in ipairs { "--exit-on-stdin-eof", "--parent-pid", tostring(core.getpid()) } do argv[#argv + 1] = a end
  local proc, serr = core.spawn(argv, { stdin = "pipe", stdout = "pipe", stderr = errfile })
  if not proc then
    os.remove(errfile)
    return nil, "firefly-emulator (" .. exe .. ") did not start: " .. serr
  end
  local url
  while not url do
    local line = proc:read_line()
    if not line then break end
    if line:match("^https?://") then url = line:gsub("/+$", "") end
  end
  -- Nothing more is read: its later output must not fill a pipe nobody drains.
  proc:close_stdout()
  if not url then
    proc:kill()
    proc:close_stdin()
    proc:wait(true)
    local msg = (slurp(errfile) or ""):gsub("%s+$", "")
    os.remove(errfile)
    return nil, "firefly-emulator (" .. exe .. ") did not start" .. (msg ~= "" and (": " .. msg) or "")
  end

  local emu = { url = url, pid = proc:pid(), exe = exe, client_id = cfg.client_id,
                client_secret = cfg.client_secret, errfile = errfile }
  -- Idempotent; waits until the process is gone (reaped) so callers may check at once.
  function emu.stop()
    if not emu.pid then return true end
    emu.pid = nil
    proc:kill()
    proc:close_stdin()
    proc:wait(true)
    os.remove(errfile)
    return true
  end
  -- A script that forgets stop() should not leave an emulator behind.
  local mt = { __gc = function() emu.stop() end, __close = function() emu.stop() end }
  if newproxy then -- Lua 5.1 and LuaJIT run __gc on userdata only
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = mt.__gc
    emu._proxy = proxy
  end
  return setmetatable(emu, mt)
end

-- True when the environment (or opts) carries Firefly credentials.
function launcher.has_credentials(opts)
  opts = opts or {}
  local function set(k, env)
    local v = opts[k] or os.getenv(env)
    return v ~= nil and v ~= ""
  end
  return set("client_id", "FIREFLY_SERVICES_CLIENT_ID")
    and (set("client_secret", "FIREFLY_SERVICES_CLIENT_SECRET")
         or set("access_token", "FIREFLY_SERVICES_ACCESS_TOKEN"))
end

--[[
** What every example starts with: a client for Adobe when credentials are
** set, otherwise a client for a freshly started emulator, said plainly on
** stderr. Returns ff, emu (nil for Adobe); call emu.stop() when done.
** emu_opts go to launcher.start.
]]
function launcher.client_or_emulator(opts, emu_opts)
  local firefly = require "firefly"
  opts = opts or {}
  if launcher.has_credentials(opts) then return firefly.new(opts), nil end
  io.stderr:write("firefly: FIREFLY_SERVICES_CLIENT_ID and FIREFLY_SERVICES_CLIENT_SECRET are not set;\n",
    "firefly: starting the bundled emulator (local fake images, no Adobe quota spent).\n")
  local emu, err = launcher.start(emu_opts)
  if not emu then return nil, err end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.client_id, o.client_secret, o.access_token = emu.client_id, emu.client_secret, nil
  o.api_url, o.ims_url = emu.url, emu.url
  io.stderr:write("firefly: emulator at ", emu.url, "\n")
  return firefly.new(o), emu
end

return launcher
