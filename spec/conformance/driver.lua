-- The plumbing of the Prism conformance checks (spec/conformance/current.lua
-- against Adobe's current document, spec/conformance/sync.lua against the npm
-- document for the deprecated sync paths): an emulator, Stoplight Prism as a
-- validating proxy (`prism proxy <spec> <emulator>`) in front of it, and a reader
-- of Prism's log.
--
--   emulator --public-url <prism>   statusUrl/cancelUrl point at Prism, so polls
--                                   and cancels go through it too;
--            --output-url <itself>  output downloads (/outputs/..., not in the
--                                   spec) go straight to the emulator;
--   client   api_url = <prism>, ims_url = <emulator> (IMS is not in the spec).
--
-- How Prism 5 signals a violation in proxy mode (prism-http-server/dist/server.js):
--   * every violation, whatever its severity, is logged as "[VALIDATOR] ... Violation: ...";
--   * with --errors an invalid request is not forwarded (422 problem+json) and a
--     response violation of severity Error becomes a 500; without it (the checks
--     here run so, to see every violation rather than the first) both are forwarded.
-- The check is strict: after startup every line of Prism's log must be one of the
-- four lines of a clean forward (scan_log), or be accounted for by the caller.
--
-- Needs `npm ci --prefix spec/conformance` and a built tree.

local helper = require "helpers.emulator"

local M = {}

local HERE = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/conformance")
M.PRISM = HERE .. "/node_modules/.bin/prism"

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local slurp, sleep, now = helper.slurp, helper.sleep, helper.now

local function sh_read(cmd)
  local p = io.popen(cmd)
  local s = p:read("*a")
  p:close()
  return s
end

-- Ports nobody listens on right now (held together while probing, so distinct).
-- Both are chosen up front: the emulator must know Prism's URL (--public-url)
-- and its own (--output-url) before either starts.
local function free_ports(n)
  local out = sh_read("node -e \"const net=require('net');const ss=[];let k=0;"
    .. "for(let i=0;i<" .. n .. ";i++){const s=net.createServer();ss.push(s);"
    .. "s.listen(0,'127.0.0.1',()=>{if(++k==" .. n .. "){console.log(ss.map(x=>x.address().port).join(' '));"
    .. "ss.forEach(x=>x.close())}})}\"")
  local ports = {}
  for p in out:gmatch("%d+") do ports[#ports + 1] = tonumber(p) end
  assert(#ports == n, "node could not find free ports: " .. out)
  return (table.unpack or unpack)(ports)
end

local function alive(pid)
  local st = slurp("/proc/" .. pid .. "/stat")
  return st ~= nil and not st:match("^%d+ %b() ([ZX])")
end

-- opts.errors = false: response violations are only logged, not turned into 500s.
local function start_prism(spec, upstream, port, logfile, opts)
  local errors = (opts and opts.errors == false) and "" or " --errors"
  os.execute(string.format("%s proxy %s %s%s -h 127.0.0.1 -p %d </dev/null >%s 2>&1 & echo $! >%s",
    quote(M.PRISM), quote(spec), quote(upstream), errors, port, quote(logfile), quote(logfile .. ".pid")))
  local pid = tonumber((slurp(logfile .. ".pid") or ""):match("%d+"))
  os.remove(logfile .. ".pid")
  local deadline = now() + 60
  while now() < deadline do
    local log = slurp(logfile) or ""
    local url = log:match("Prism is listening on (http://[%d%.:]+)")
    if url then return { pid = pid, url = url, logfile = logfile } end
    if not (pid and alive(pid)) then break end
    sleep(0.1)
  end
  if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
  return nil, slurp(logfile) or "(no output)"
end

local function stop_prism(prism)
  if not (prism and prism.pid) then return end
  os.execute("kill " .. prism.pid .. " 2>/dev/null")
  for _ = 1, 200 do
    if not alive(prism.pid) then break end
    sleep(0.02)
  end
  prism.pid = nil
end

-- The four lines of a request Prism forwarded with nothing to say about it.
local CLEAN = {
  { "received", "%[HTTP SERVER%] %a+ %S+ ℹ%s+info%s+Request received$" },
  { "forwarding", "%[PROXY%] ℹ%s+info%s+> Forwarding \"%a+\" request to " },
  { "returned", "%[PROXY%] ℹ%s+info%s+The upstream call to %S+ has returned %d+$" },
  { "forwarded", "%[PROXY%] ℹ%s+info%s+< Received forward response$" },
}

-- Reads Prism's log from after its "listening" line; returns counts and every
-- line that is not part of a clean forward (a violation or a Prism error).
function M.scan_log(text, from)
  local counts, bad = { received = 0, forwarding = 0, returned = 0, forwarded = 0 }, {}
  local started = false
  local n = 0
  for line in text:gmatch("[^\n]+") do
    n = n + 1
    if not started then
      started = line:find("Prism is listening on", 1, true) ~= nil
    elseif n > (from or 0) then
      local kind
      for _, c in ipairs(CLEAN) do
        if line:find(c[2]) then kind = c[1] break end
      end
      if kind then counts[kind] = counts[kind] + 1 else bad[#bad + 1] = line end
    end
  end
  return counts, bad, n
end

local function check(report, ok, what, detail)
  report.checks[#report.checks + 1] = { ok = ok and true or false, what = what,
    detail = (not ok) and detail and tostring(detail) or nil }
  return ok
end

-- A report passes when every one of its checks did.
function M.verdict(report)
  report.ok = true
  for _, c in ipairs(report.checks) do
    if not c.ok then report.ok = false end
  end
  return report
end

-- Starts an emulator and a Prism proxy on opts.spec in front of it, calls
-- fn(emu, prism, proxy, tmp) (proxy: the helper's curl client aimed at Prism with a
-- token), then stops both. opts: spec, errors (default true), job_seconds, extra
-- (more emulator flags). Returns report, with report.error when nothing could start.
function M.session(opts, report, fn)
  local tmp = os.tmpname()
  local prism, emu, why
  for _ = 1, 3 do -- a probed port could be taken before it is bound: try again
    local pport, eport = free_ports(2)
    local extra = { "--port", tostring(eport), ["public-url"] = "http://127.0.0.1:" .. pport,
      ["output-url"] = "http://127.0.0.1:" .. eport }
    for k, v in pairs(opts.extra or {}) do extra[k] = v end
    local ok, e = pcall(helper.start, { job_seconds = opts.job_seconds or 0.6, extra = extra })
    if ok then
      emu = e
      prism, why = start_prism(opts.spec, emu.url, pport, tmp .. ".prism.log", { errors = opts.errors })
      if prism then break end
      emu:stop()
      emu = nil
    else
      why = e
    end
  end
  if not prism then
    report.ok, report.error = false, "prism did not start: " .. tostring(why)
    os.remove(tmp)
    return report
  end
  local ok, err = pcall(function()
    local proxy = setmetatable({ url = prism.url, base = tmp .. ".curl", client_id = emu.client_id,
      access_token = emu:token() }, getmetatable(emu))
    fn(emu, prism, proxy, tmp)
  end)
  if not ok then check(report, false, "driver ran to the end", err) end
  stop_prism(prism)
  emu:stop()
  if os.getenv("CONFORMANCE_VERBOSE") then io.stderr:write(slurp(prism.logfile) or "") end
  os.remove(prism.logfile)
  os.remove(tmp)
  return M.verdict(report)
end

-- Text for a person: the failures first, then `summary` lines.
function M.format(report, summary)
  local out = { "== " .. tostring(report.name) }
  if report.error then out[#out + 1] = "ERROR: " .. report.error end
  for _, c in ipairs(report.checks) do
    if not c.ok then out[#out + 1] = "FAIL: " .. c.what .. (c.detail and ("\n      " .. c.detail) or "") end
  end
  for _, line in ipairs(summary or {}) do out[#out + 1] = line end
  out[#out + 1] = report.ok and "conformance: OK" or "conformance: FAILED"
  return table.concat(out, "\n")
end

M.free_ports, M.start_prism, M.stop_prism, M.check = free_ports, start_prism, stop_prism, check

return M
