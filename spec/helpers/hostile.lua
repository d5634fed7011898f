-- A small scriptable hostile HTTP server, for what the emulator does not do:
-- trickle a body, send more than its Content-Length, hand out output URLs
-- that are not URLs. It runs as its own lua5.4 process (LuaSocket), so a
-- blocking client call can talk to it; every request line goes to its log.
--
--   local srv = require("helpers.hostile").start("trickle")
--   ... srv.url ..., srv:requests(), local ff, out = srv:output { stall_timeout = 1 } ...
--   srv:stop()
--
-- Modes:
--   trickle  200, Content-Length 20000: one byte every 50 ms for 3 s, then the rest at once
--   excess   200, a PNG whose Content-Length promises half of the bytes sent
--   api42    a Firefly API whose finished job has an output URL of 42 (the number)
--   png      200, a whole PNG
--   slowupload  a Firefly API (upload, submit, status, output) that takes an
--            upload's body 256 KiB every 40 ms, logging "body N" (bytes read so
--            far) as it goes: a stalled server, as an upload meets it

if ... ~= "helpers.hostile" then
  -- The server itself: lua5.4 hostile.lua MODE LOGFILE PNGFILE
  local socket = require "socket"
  local mode, logfile, pngfile = ...
  local f = assert(io.open(pngfile, "rb"))
  local png = f:read("*a")
  f:close()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  local base = "http://127.0.0.1:" .. port
  io.stdout:write(base, "/\n")
  io.stdout:flush()
  local function head(c, status, ctype, length)
    c:send(("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n")
      :format(status, ctype, length))
  end
  while true do
    local c = s:accept()
    c:settimeout(5)
    local line = c:receive("*l") or ""
    local log = io.open(logfile, "a")
    log:write(line, "\n")
    log:close()
    local length, expect = 0, false
    repeat
      local l = c:receive("*l")
      local n = l and tonumber(l:lower():match("^content%-length:%s*(%d+)"))
      if n then length = n end
      if l and l:lower():find("^expect:%s*100%-continue") then expect = true end
    until l == "" or l == nil
    if mode == "slowupload" then
      if expect then c:send("HTTP/1.1 100 Continue\r\n\r\n") end
      local got = 0
      while got < length do
        local piece = c:receive(math.min(262144, length - got))
        if not piece then break end
        got = got + #piece
        if line:find("^POST /v2/storage/image") then
          log = io.open(logfile, "a")
          log:write("body ", got, "\n")
          log:close()
          socket.sleep(0.04)
        end
      end
      local body, status = nil, "200 OK"
      if line:find("^POST /v2/storage/image") then
        body = '{"images":[{"id":"0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"}]}'
      elseif line:find("^POST /v3/") then
        status = "202 Accepted"
        body = ('{"jobId":"j1","statusUrl":"%s/v3/status/j1","cancelUrl":"%s/v3/cancel/j1"}'):format(base, base)
      elseif line:find("^GET /v3/status/") then
        body = ('{"jobId":"j1","status":"succeeded","result":{"size":{"width":8,"height":8},'
          .. '"outputs":[{"seed":1,"image":{"url":"%s/out.png"}}]}}'):format(base)
      end
      if body then
        head(c, status, "application/json", #body)
        c:send(body)
      else
        head(c, "200 OK", "image/png", #png)
        c:send(png)
      end
    elseif mode == "trickle" then
      head(c, "200 OK", "image/png", 20000)
      local sent = 0
      for _ = 1, 60 do
        if not c:send("a") then break end
        sent = sent + 1
        socket.sleep(0.05)
      end
      c:send(string.rep("a", 20000 - sent))
    elseif mode == "excess" then
      head(c, "200 OK", "image/png", math.floor(#png / 2))
      c:send(png)
    elseif mode == "api42" then
      local body
      if line:find("^POST") then
        body = ('{"jobId":"j42","statusUrl":"%s/v3/status/j42","cancelUrl":"%s/v3/cancel/j42"}'):format(base, base)
      else
        body = '{"jobId":"j42","status":"succeeded","result":{"size":{"width":8,"height":8},'
          .. '"outputs":[{"seed":1,"image":{"url":42}}]}}'
      end
      head(c, line:find("^POST") and "202 Accepted" or "200 OK", "application/json", #body)
      c:send(body)
    else
      head(c, "200 OK", "image/png", #png)
      c:send(png)
    end
    c:close()
  end
end

local M = {}

local Server = {}
Server.__index = Server

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function here()
  return (debug.getinfo(1, "S").source:gsub("^@", ""))
end

function M.start(mode, png)
  local base = os.tmpname()
  local self = setmetatable({ base = base, logfile = base .. ".log" }, Server)
  os.execute(("env -u LD_PRELOAD lua5.4 '%s' '%s' '%s' '%s' </dev/null >'%s.out' 2>'%s.err' & echo $! >'%s.pid'")
    :format(here(), mode, self.logfile, png or "spec/fixtures/hero.png", base, base, base))
  for _ = 1, 300 do
    local url = (slurp(base .. ".out") or ""):match("^(http://[^\n]+)\n")
    if url then
      self.url = url
      self.pid = tonumber((slurp(base .. ".pid") or ""):match("%d+"))
      return self
    end
    os.execute("sleep 0.01")
  end
  error("the hostile server did not start: " .. (slurp(base .. ".err") or ""), 2)
end

-- The request lines it was sent.
function Server:requests()
  local list = {}
  for l in (slurp(self.logfile) or ""):gmatch("[^\n]+") do list[#list + 1] = l end
  return list
end

-- A client of a made-up API (nothing is ever submitted) and one output whose
-- URL is this server's out.png: what a download does against the server.
-- opts are firefly.new's, over a plain-HTTP api_url.
function Server:output(opts)
  local o = { client_id = "id", access_token = "token", api_url = "http://127.0.0.1:1" }
  for k, v in pairs(opts or {}) do o[k] = v end
  local ff = require("firefly").new(o)
  local r = require("firefly.result").new(ff, { outputs = { { image = { url = self.url .. "out.png" } } } }, {})
  return ff, r.outputs[1]
end

function Server:stop()
  if self.pid then os.execute("kill " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
  for _, ext in ipairs { "", ".out", ".err", ".pid", ".log" } do os.remove(self.base .. ext) end
end

return M
