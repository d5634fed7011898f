-- firefly.launcher: start a local firefly-emulator from Lua, for demos,
-- examples and offline pipeline work that must not spend Firefly quota.
--
--   local emu = require("firefly.launcher").start{job_seconds = 1}
--   local ff = require("firefly").new{client_id = emu.client_id,
--     client_secret = emu.client_secret, api_url = emu.url, ims_url = emu.url}
--   ...
--   emu.stop()
--
-- Plain io/os and a POSIX shell (mkfifo), so it runs on Lua 5.1 to 5.4 and LuaJIT.

local fs = require "firefly.fs"

local launcher = {}

local DEFAULT_ID, DEFAULT_SECRET = "emulator-client-id", "emulator-client-secret"

local quote, slurp, sh_ok = fs.quote, fs.read, fs.sh

-- The executable: opts.exe, then $FIREFLY_EMULATOR, then firefly-emulator on PATH.
function launcher.find(exe)
  exe = exe or os.getenv("FIREFLY_EMULATOR")
  if exe and exe ~= "" then return exe end
  local p = io.popen("command -v firefly-emulator 2>/dev/null")
  local found = p:read("*l")
  p:close()
  if found and found ~= "" then return found end
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

local function gone(pid)
  local st = slurp("/proc/" .. pid .. "/stat")
  if st then return st:match("^%d+ %b() ([ZX])") ~= nil end
  return not sh_ok("kill -0 " .. pid .. " 2>/dev/null")
end

--[[
** The emulator's stdin is a pipe whose only writer is this process
** (io.popen(cmd, "w")), and it runs with --exit-on-stdin-eof: however this
** process ends, kill -9 included, the kernel closes that pipe and the
** emulator ends with it. Its stdout (the shell's `echo $$`, which exec keeps
** as the emulator's pid, then its URL) comes back through a FIFO; reading
** blocks until both lines arrive, or until EOF if it dies first, so there is
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

  local errfile = os.tmpname()
  local fifo = os.tmpname()
  os.remove(fifo)
  if not sh_ok("mkfifo -m 600 " .. quote(fifo)) then
    os.remove(errfile)
    return nil, "firefly-emulator: cannot make a FIFO at " .. fifo
  end
  local parts = { quote(exe) }
  for _, a in ipairs(flag_args(cfg)) do parts[#parts + 1] = quote(a) end
  -- Two lifelines: the pipe (anywhere), and the parent pid ($PPID of the
  -- shell is this process, the emulator's parent once the shell execs it),
  -- which covers a child of this process that inherited the pipe's end.
  parts[#parts + 1] = '--exit-on-stdin-eof --parent-pid "$PPID"'
  local cmd = "exec >" .. quote(fifo) .. " 2>" .. quote(errfile) .. "; echo $$; exec " .. table.concat(parts, " ")
  local lifeline = io.popen(cmd, "w")
  local out = io.open(fifo, "r") -- meets the shell's `exec >FIFO`
  os.remove(fifo) -- both ends are open: the name is no longer needed
  local pid, url
  while out and not (pid and url) do
    local line = out:read("*l")
    if not line then break end
    if line:match("^%d+$") then pid = tonumber(line)
    elseif line:match("^https?://") then url = line:gsub("/+$", "") end
  end
  if out then out:close() end
  if not url then
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    lifeline:close()
    local msg = (slurp(errfile) or ""):gsub("%s+$", "")
    os.remove(errfile)
    return nil, "firefly-emulator (" .. exe .. ") did not start" .. (msg ~= "" and (": " .. msg) or "")
  end

  local emu = { url = url, pid = pid, exe = exe, client_id = cfg.client_id,
                client_secret = cfg.client_secret, errfile = errfile }
  -- Idempotent; waits until the process is gone so callers may check at once.
  function emu.stop()
    if not emu.pid then return true end
    local p = emu.pid
    emu.pid = nil
    -- A signal first: another child of this process may hold the pipe too.
    os.execute("kill " .. p .. " 2>/dev/null")
    lifeline:close() -- waits for the emulator, which was the shell's exec
    for _ = 1, 500 do
      if gone(p) then break end
      os.execute("sleep 0.01")
    end
    os.remove(errfile)
    return gone(p)
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
