-- Starts a real firefly-emulator process for a spec and talks to it.
--
--   local emu = require("helpers.emulator").start{job_seconds = 0.5}
--   local r = emu:api("POST", "/v3/images/generate-async", {json = {prompt = "a cat"}})
--   emu:stop()
--
-- Plain Lua io/os plus the curl command-line tool, so it runs under Lua 5.4
-- and LuaJIT alike.
local ok_cjson, cjson = pcall(require, "cjson")
local json = ok_cjson and cjson or require("dkjson")

local M = {}
M.json = json

-- The interpreter under test, for the children a spec starts (tests/tests.cmake
-- sets FIREFLY_TEST_LUA), and where the build keeps its binding (lib/5.1 ... lib/jit).
local version = rawget(_G, "jit") and "jit" or _VERSION:match("%d+%.%d+")
M.lua = os.getenv("FIREFLY_TEST_LUA") or (version == "jit" and "luajit" or "lua" .. version)
M.libdir = "lib/" .. version

local Emulator = {}
Emulator.__index = Emulator

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function M.sleep(seconds)
  os.execute("sleep " .. string.format("%.3f", seconds))
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
M.slurp = slurp

local function spit(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function now()
  local p = io.popen("date +%s.%N")
  local s = p:read("*l")
  p:close()
  return tonumber(s)
end
M.now = now

-- opts: job_seconds, token_seconds, client_id, client_secret, and extra:
-- more flags, either a list ({"--url-seconds", "2"}) or a map ({["url-seconds"] = 2}).
function M.start(opts)
  opts = opts or {}
  local exe = os.getenv("FIREFLY_EMULATOR") or "build/bin/firefly-emulator"
  local base = os.tmpname()
  local self = setmetatable({
    base = base,
    client_id = opts.client_id or "emulator-client-id",
    client_secret = opts.client_secret or "emulator-client-secret",
    logfile = base .. ".log",
  }, Emulator)
  local args = { "--port", "0", "--log", self.logfile,
    "--client-id", self.client_id, "--client-secret", self.client_secret }
  if opts.job_seconds then args[#args + 1] = "--job-seconds"; args[#args + 1] = opts.job_seconds end
  if opts.token_seconds then args[#args + 1] = "--token-seconds"; args[#args + 1] = opts.token_seconds end
  local extra = opts.extra or {}
  for _, v in ipairs(extra) do args[#args + 1] = v end
  for k, v in pairs(extra) do
    if type(k) == "string" then
      args[#args + 1] = "--" .. k
      if v ~= true then args[#args + 1] = v end
    end
  end
  local parts = { quote(exe) }
  for _, a in ipairs(args) do parts[#parts + 1] = quote(a) end
  os.execute(string.format("%s </dev/null >%s 2>%s & echo $! >%s",
    table.concat(parts, " "), quote(base .. ".out"), quote(base .. ".err"), quote(base .. ".pid")))
  for _ = 1, 500 do
    local out = slurp(base .. ".out") or ""
    local url = out:match("^(https?://[^\r\n]+)\n")
    if url then
      self.url = url
      self.pid = tonumber(slurp(base .. ".pid"):match("%d+"))
      return self
    end
    M.sleep(0.01)
  end
  local pid = tonumber((slurp(base .. ".pid") or ""):match("%d+") or "")
  if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
  error("firefly-emulator did not start (" .. exe .. "): " .. (slurp(base .. ".err") or ""), 2)
end

-- Every JSON log line so far, parsed.
function Emulator:log()
  local list = {}
  local text = slurp(self.logfile) or ""
  for line in text:gmatch("[^\n]+") do list[#list + 1] = json.decode(line) end
  return list
end

-- How many logged requests had this method and a path matching the Lua pattern.
function Emulator:count(method, path_pattern)
  local n = 0
  for _, e in ipairs(self:log()) do
    if (method == nil or e.method == method) and e.path:find(path_pattern) then n = n + 1 end
  end
  return n
end

-- One HTTP exchange through curl. target: a path on the emulator or a full URL.
-- opts: headers = {name = value}, body = string, json = table (sets Content-Type).
-- Returns {status=, headers={lowercased}, body=, json=<decoded or nil>}.
function Emulator:request(method, target, opts)
  opts = opts or {}
  local url = target:match("^https?://") and target or (self.url .. target)
  -- Under `make asan` the ASan runtime is preloaded for the interpreter; the
  -- curl tool must not inherit it (it deadlocks at start-up with it).
  local cmd = { "env -u LD_PRELOAD curl -s -S -g -o", quote(self.base .. ".body"), "-D", quote(self.base .. ".head"),
    "-w '%{http_code}' -X", quote(method) }
  local body = opts.body
  local headers = {}
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  if opts.json ~= nil then
    body = json.encode(opts.json)
    if headers["Content-Type"] == nil then headers["Content-Type"] = "application/json" end
  end
  for k, v in pairs(headers) do cmd[#cmd + 1] = "-H " .. quote(k .. ": " .. v) end
  if body ~= nil then
    spit(self.base .. ".req", body)
    cmd[#cmd + 1] = "--data-binary @" .. quote(self.base .. ".req")
  end
  cmd[#cmd + 1] = quote(url)
  local p = io.popen(table.concat(cmd, " "))
  local code = p:read("*a")
  p:close()
  local res = { status = tonumber(code), headers = {}, body = slurp(self.base .. ".body") or "" }
  -- Keep only the last header block (a 100 Continue may come first).
  local head = (slurp(self.base .. ".head") or ""):gsub("\r", "")
  for line in head:gmatch("[^\n]+") do
    if line:match("^HTTP/") then
      res.headers = {}
    else
      local k, v = line:match("^([^:]+):%s*(.*)$")
      if k then res.headers[k:lower()] = v end
    end
  end
  local ctype = res.headers["content-type"] or ""
  if ctype:find("json", 1, true) and #res.body > 0 then
    local okj, doc = pcall(json.decode, res.body)
    if okj then res.json = doc end
  end
  os.remove(self.base .. ".body")
  os.remove(self.base .. ".head")
  os.remove(self.base .. ".req")
  return res
end

-- A fresh access token from the emulator's IMS endpoint.
function Emulator:token()
  local r = self:request("POST", "/ims/token/v3", {
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
    body = "grant_type=client_credentials&client_id=" .. self.client_id
      .. "&client_secret=" .. self.client_secret .. "&scope=openid,AdobeID,firefly_api,ff_apis" })
  assert(r.status == 200, "token request failed: " .. tostring(r.status) .. " " .. r.body)
  return r.json.access_token
end

-- A request with x-api-key and a bearer token (cached per emulator) added.
function Emulator:api(method, target, opts)
  opts = opts or {}
  self.access_token = self.access_token or self:token()
  local headers = { ["x-api-key"] = self.client_id, Authorization = "Bearer " .. self.access_token }
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  return self:request(method, target, { headers = headers, body = opts.body, json = opts.json })
end

function Emulator:revoke_tokens()
  local r = self:request("POST", "/__emulator/revoke-tokens")
  assert(r.status == 200, "revoke-tokens failed: " .. tostring(r.status))
  self.access_token = nil
end

function Emulator:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    -- Wait for it to go (a zombie counts as gone: state Z in /proc).
    for _ = 1, 200 do
      local st = slurp("/proc/" .. self.pid .. "/stat")
      if st == nil or st:match("^%d+ %b() ([ZX])") then break end
      M.sleep(0.01)
    end
    self.pid = nil
  end
  for _, ext in ipairs({ "", ".out", ".err", ".pid", ".log" }) do os.remove(self.base .. ext) end
end

-- A firefly client pointed at this emulator; extra adds or overrides options.
function Emulator:client(extra)
  local o = { client_id = self.client_id, client_secret = self.client_secret,
              api_url = self.url, ims_url = self.url }
  for k, v in pairs(extra or {}) do o[k] = v end
  return require("firefly").new(o)
end

-- A spec's usual pair: an emulator and a client pointed at it, and their end.
--   setup(function() emu, ff = helper.serve { job_seconds = 0.3 } end)
--   teardown(function() helper.close(emu, ff) end)
function M.serve(opts, client_opts)
  local emu = M.start(opts)
  return emu, emu:client(client_opts)
end

function M.close(emu, ff)
  if ff then ff:close() end
  if emu then emu:stop() end
end

-- A fresh temporary directory, and the names in a directory.
function M.tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("*l")
  p:close()
  return d
end

function M.ls(dir)
  local p = io.popen("ls -A '" .. dir .. "'")
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  return names
end

return M
