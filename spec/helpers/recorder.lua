-- A recording reverse proxy for specs: it forwards every request to an
-- upstream (the emulator) and keeps each one as sent, headers and body
-- included, which the emulator's own log leaves out on purpose.
--
--   local rec = require("helpers.recorder").start(emu.url)
--   ... point api_url or ims_url at rec.url ...
--   rec:requests()  -- {{method=, path=, headers={lowercased}, body=,
--                   --   response={status=, headers={lowercased}, body=}}, ...}
--   rec:stop()
--
-- Bodies are latin-1 strings of the exact bytes (a request body over 1 MB is
-- kept as its first MB, with body_truncated = true; body_length and
-- body_sha256 are of the whole). Mind that lua-cjson turns a latin-1 string's
-- bytes over 0x7f into UTF-8: compare binary bodies by body_sha256. `recorder.start(url, {strip =
-- {"x-request-id"}})` drops those response headers on the way back (a server
-- that echoes none).
--
-- It is a short python3 script, so it runs beside Lua 5.4 and LuaJIT alike.
local helper = require("helpers.emulator")

local M = {}

local SCRIPT = [[
import hashlib, http.server, json, sys, urllib.request, urllib.error
upstream, record = sys.argv[1], sys.argv[2]
limit = 1 << 20  # bodies kept in the record: a 16 MB upload is kept as its first MB
strip = set(h.lower() for h in sys.argv[3].split(",") if h) if len(sys.argv) > 3 else set()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def forward(self):
        n = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(n) if n else b""
        entry = {"method": self.command, "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body[:limit].decode("latin-1"), "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest()}
        if len(body) > limit: entry["body_truncated"] = True
        hop = ("host", "connection", "content-length", "transfer-encoding", "expect")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in hop}
        req = urllib.request.Request(upstream + self.path, data=body if n else None,
                                     method=self.command, headers=headers)
        try:
            with urllib.request.urlopen(req) as r:
                status, rh, data = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, rh, data = e.code, e.headers, e.read()
        kept = [(k, v) for k, v in rh.items() if k.lower() not in hop
                and k.lower() not in ("date", "server") and k.lower() not in strip]
        entry["response"] = {"status": status, "headers": {k.lower(): v for k, v in kept},
                             "body": data.decode("latin-1")}
        entry["response"]["headers"]["content-length"] = str(len(data))
        with open(record, "a") as f:
            f.write(json.dumps(entry) + "\n")
        self.send_response(status)
        for k, v in kept:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_PUT = do_DELETE = forward
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("http://127.0.0.1:%d" % s.server_address[1], flush=True)
s.serve_forever()
]]

local Recorder = {}
Recorder.__index = Recorder

-- Starts the proxy in front of `upstream`; returns nil and a reason when python3 is missing.
-- opts.strip: response header names to drop.
function M.start(upstream, opts)
  if not os.execute("command -v python3 >/dev/null 2>&1") then return nil, "python3 is not installed" end
  local p = io.popen("mktemp -d")
  local dir = p:read("*l")
  p:close()
  local self = setmetatable({ dir = dir, record = dir .. "/record.jsonl" }, Recorder)
  local f = assert(io.open(dir .. "/proxy.py", "w"))
  f:write(SCRIPT)
  f:close()
  local strip = table.concat((opts or {}).strip or {}, ",")
  os.execute(("python3 '%s/proxy.py' '%s' '%s' '%s' >'%s/url' 2>'%s/err' </dev/null & echo $! >'%s/pid'"):format(
    dir, upstream, self.record, strip, dir, dir, dir))
  for _ = 1, 500 do
    self.url = (helper.slurp(dir .. "/url") or ""):match("^(http://[^\n]+)\n")
    if self.url then
      self.pid = tonumber((helper.slurp(dir .. "/pid") or ""):match("%d+"))
      return self
    end
    helper.sleep(0.02)
  end
  local err = helper.slurp(dir .. "/err")
  self:stop()
  error("the recording proxy did not start: " .. tostring(err), 2)
end

function Recorder:requests()
  local list = {}
  for line in (helper.slurp(self.record) or ""):gmatch("[^\n]+") do list[#list + 1] = helper.json.decode(line) end
  return list
end

function Recorder:stop()
  if self.pid == nil then
    self.pid = tonumber((helper.slurp(self.dir .. "/pid") or ""):match("%d+"))
  end
  if self.pid then os.execute("kill " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
  os.execute("rm -rf '" .. self.dir .. "'")
end

return M
