-- Conformance of generate_images against Adobe's OpenAPI file, checked from
-- outside the way the Stainless-generated SDKs are: Stoplight Prism runs as a
-- validating proxy (`prism proxy <spec> <emulator> --errors`) between the Lua
-- client and the emulator, and every request and response on the spec'd paths
-- (POST /v3/images/generate-async, GET /v3/status/{jobId}, PUT /v3/cancel/{jobId})
-- passes through it.
--
--   emulator --public-url <prism>   statusUrl/cancelUrl point at Prism, so polls
--                                   and cancels go through it too;
--            --output-url <itself>  output downloads (/outputs/..., not in the
--                                   spec) go straight to the emulator;
--   client   api_url = <prism>, ims_url = <emulator> (IMS is not in the spec).
--
-- How Prism 5 signals a violation in proxy mode (prism-http-server/dist/server.js):
--   * an invalid request is not forwarded: 422 (or 401 for security) as
--     application/problem+json, and "Request terminated with error" in its log;
--   * a response violation of severity Error becomes a 500 VIOLATIONS problem
--     (with --errors); one of severity Warning (e.g. a status code the spec does
--     not list) is forwarded unchanged with an `sl-violations` header;
--   * every violation, whatever its severity, is logged as "[VALIDATOR] ... Violation: ...".
-- The check is strict: after startup every line of Prism's log must be one of
-- the four lines of a clean forward, every request Prism received must have
-- been forwarded, the emulator must have seen no /v3/ request that did not come
-- through Prism, and no raw response may carry `sl-violations` or problem+json.
-- A control at the end (a bad token, answered 401, which the spec does not
-- list) proves the checker sees a violation when there is one.
--
-- Usage: spec/conformance/run.sh (or driver.run{...} from Lua); needs
-- `npm ci --prefix spec/conformance` and a built tree.

local helper = require "helpers.emulator"
local firefly = require "firefly"

local M = {}

local HERE = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/conformance")
-- Adobe's stripped document, the very file the client and emulator validate with.
M.SPEC = require("firefly.openapi").path("image_generation_async_v3")
M.PRISM = HERE .. "/node_modules/.bin/prism"

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local slurp, sleep, now, json = helper.slurp, helper.sleep, helper.now, helper.json

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

-- ---------------------------------------------------------------- scenarios

-- Stands for a real upload id until run() has uploaded an image (the emulator
-- refuses ids it never issued).
local UPLOAD_ID = "3f0c1a4e-8b2d-4c6e-9a1f-2b3c4d5e6f70"

local function with_upload_id(v, id)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = (k == "uploadId" and x == UPLOAD_ID) and id or with_upload_id(x, id) end
  return out
end

-- Uploads a fixture straight to the emulator (/v2 is not in this document); returns its id.
local function upload_fixture(emu, name)
  local r = emu:api("POST", "/v2/storage/image", { headers = { ["Content-Type"] = "image/png" },
    body = slurp("spec/fixtures/" .. (name or "hero.png")) })
  assert(r.status == 200, "upload failed: " .. tostring(r.status) .. " " .. r.body)
  return r.json.images[1].id
end

-- Bodies the client sends, each valid by Adobe's schema and by the client.
M.BODIES = {
  { name = "minimal", body = { prompt = "a lighthouse at dusk" } },
  { name = "full", body = {
      prompt = "a lighthouse at dusk, oil on canvas",
      negativePrompt = "people, text",
      numVariations = 2,
      seeds = { 11, 22 },
      size = { width = 64, height = 48 },
      contentClass = "art",
      promptBiasingLocaleCode = "en-US",
      upsamplerType = "default",
      visualIntensity = 6,
      style = { presets = { "watercolor" }, strength = 60,
        imageReference = { source = { uploadId = UPLOAD_ID } } },
      structure = { strength = 40, imageReference = { source = { uploadId = UPLOAD_ID } } },
    } },
  { name = "model_version image4_standard", body = { prompt = "a red kite", size = { width = 32, height = 32 } },
    opts = { model_version = "image4_standard" } },
  { name = "model_version image3", body = { prompt = "a blue kite", seeds = { 7 } },
    opts = { model_version = "image3" } },
}

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

local function client_scenarios(ff, report, outdir, upload_id)
  -- Every body, polled to success; the first output of each is downloaded.
  for _, case in ipairs(with_upload_id(M.BODIES, upload_id)) do
    local opts = { wait = false }
    for k, v in pairs(case.opts or {}) do opts[k] = v end
    local job, err = ff:generate_images(case.body, opts)
    if check(report, job, case.name .. ": submitted", err) then
      local res, werr = job:wait(30)
      if check(report, res, case.name .. ": polled to success", werr) then
        check(report, job.status == "succeeded", case.name .. ": status succeeded", job.status)
        local path = outdir .. "/" .. case.name:gsub("%W", "_") .. ".png"
        local saved, serr = res.outputs[1]:save(path)
        check(report, saved, case.name .. ": output downloaded straight from the emulator", serr)
        local png = slurp(path) or ""
        check(report, png:sub(1, 8) == "\137PNG\r\n\26\n", case.name .. ": output is a PNG")
        os.remove(path)
      end
    end
  end

  -- Cancelled: PUT cancelUrl -> 200, then the status document says cancel_pending / canceled.
  do
    local seen = {}
    local job, err = ff:generate_images({ prompt = "a slow sunset [emulator:stuck]" },
      { wait = false, on_progress = function(j) seen[#seen + 1] = j.status end })
    if check(report, job, "cancel: submitted", err) then
      local deadline = now() + 10
      while job.status ~= "running" and not job.finished and now() < deadline do ff:step(0.1) end
      check(report, job.status == "running", "cancel: job running before cancel", job.status)
      check(report, job:cancel(), "cancel: cancel requested")
      local res, werr = job:wait(30)
      check(report, res == nil and werr and werr.kind == "canceled", "cancel: job ends canceled",
        werr or "succeeded")
      check(report, job.status == "canceled" or job.status == "cancel_pending",
        "cancel: last status cancel_pending/canceled", job.status)
    end
  end

  -- Failed.
  do
    local res, err = ff:generate_images({ prompt = "a broken vase [emulator:fail]" })
    check(report, res == nil and err and err.kind == "job_failed" and err.code == "runtime_error",
      "failed job: job_failed runtime_error", err or "succeeded")
  end

  -- Unknown job id, re-attached through ff:job.
  do
    local id = "urn:ff:jobs:" .. "emu851000" .. ":00000000-0000-4000-8000-000000000000"
    local res, err = ff:job(id)
    check(report, res == nil and err and err.status == 404 and err.code == "unknown_job_id",
      "unknown job id: 404 unknown_job_id", err or "succeeded")
  end
end

-- Raw exchanges through Prism with curl, to see its headers and the exchanges
-- the client never makes on its own (409s, a refused body).
local function raw_scenarios(emu, proxy, report)
  local results = {}
  local function raw(what, method, target, opts, want_status)
    local r = proxy:api(method, target, opts)
    results[#results + 1] = r
    check(report, r.status == want_status, what .. ": HTTP " .. want_status, r.status .. " " .. r.body)
    check(report, r.headers["sl-violations"] == nil, what .. ": no sl-violations header",
      r.headers["sl-violations"])
    check(report, not (r.headers["content-type"] or ""):find("problem+json", 1, true),
      what .. ": not a Prism problem document", r.body)
    return r
  end
  local sub = raw("raw submit", "POST", "/v3/images/generate-async",
    { json = { prompt = "a paper boat", size = { width = 16, height = 16 } } }, 202)
  local id = sub.json and sub.json.jobId or "missing"
  check(report, sub.json and sub.json.statusUrl == proxy.url .. "/v3/status/" .. id,
    "raw submit: statusUrl points at Prism", sub.json and sub.json.statusUrl)
  raw("raw status", "GET", "/v3/status/" .. id, nil, 200)
  local c = raw("raw cancel", "PUT", "/v3/cancel/" .. id, nil, 200)
  check(report, c.body:match("^%s*{%s*}%s*$"), "raw cancel: body {}", c.body)
  local s = raw("raw status after cancel", "GET", "/v3/status/" .. id, nil, 200)
  local st = s.json and s.json.status
  check(report, st == "cancel_pending" or st == "canceled", "raw status after cancel: cancel_pending/canceled", st)
  local again = raw("raw cancel again", "PUT", "/v3/cancel/" .. id, nil, 409)
  check(report, again.json and again.json.error_code == "job_already_canceled",
    "raw cancel again: job_already_canceled", again.body)
  raw("raw status unknown", "GET", "/v3/status/no-such-job", nil, 404)
  raw("raw cancel unknown", "PUT", "/v3/cancel/no-such-job", nil, 404)
  -- Valid by Adobe's schema but against a rule Adobe states only in prose
  -- (as many seeds as numVariations): the emulator refuses it with 422. The
  -- client runs the same rule set as the emulator, so no body passes the client
  -- and is refused by the emulator; this one is sent raw.
  local v = raw("raw prose-rule refusal", "POST", "/v3/images/generate-async",
    { json = { prompt = "two kites", numVariations = 2, seeds = { 1 } } }, 422)
  check(report, v.json and v.json.error_code == "validation_error", "raw prose-rule refusal: validation_error", v.body)
  local done = raw("raw submit to finish", "POST", "/v3/images/generate-async",
    { json = { prompt = "a stone", size = { width = 8, height = 8 } } }, 202)
  local did = done.json and done.json.jobId or "missing"
  local deadline = now() + 10
  repeat
    sleep(0.1)
    local r = proxy:api("GET", "/v3/status/" .. did)
    results[#results + 1] = r
  until (r.json and r.json.status == "succeeded") or now() > deadline
  local fin = raw("raw cancel finished job", "PUT", "/v3/cancel/" .. did, nil, 409)
  check(report, fin.json and fin.json.error_code == "job_completed", "raw cancel finished: job_completed", fin.body)
  for _, r in ipairs(results) do
    if r.headers["sl-violations"] then report.header_violations[#report.header_violations + 1] = r.headers["sl-violations"] end
  end
end

-- ---------------------------------------------------------------- the run

-- opts: spec (path), job_seconds, keep_logs. Returns a report:
-- { ok, violations = {lines}, checks = {...}, counts, control, prism_log, emulator_v3 }
function M.run(opts)
  opts = opts or {}
  local spec = opts.spec or M.SPEC
  local report = { checks = {}, violations = {}, header_violations = {} }
  local prism, emu, why
  local tmp = os.tmpname()
  for _ = 1, 3 do -- a probed port could be taken before it is bound: try again
    local pport, eport = free_ports(2)
    local prism_url = "http://127.0.0.1:" .. pport
    local ok, e = pcall(helper.start, { job_seconds = opts.job_seconds or 1.5, extra = {
      "--port", tostring(eport), ["public-url"] = prism_url,
      ["output-url"] = "http://127.0.0.1:" .. eport } })
    if ok then
      emu = e
      prism, why = start_prism(spec, emu.url, pport, tmp .. ".prism.log")
      if prism then break end
      emu:stop()
      emu = nil
    else
      why = e
    end
  end
  if not prism then
    report.ok = false
    report.error = "prism did not start: " .. tostring(why)
    os.remove(tmp)
    return report
  end
  report.prism_url, report.emulator_url = prism.url, emu.url

  local outdir = tmp .. ".out"
  os.execute("mkdir -p " .. quote(outdir))
  local ok, err = pcall(function()
    -- No retries: a Prism-made 5xx must surface, not be retried away.
    local ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
      api_url = prism.url, ims_url = emu.url, poll_interval = 0.2, poll_max = 0.5, max_retries = 0,
      api_hosts = { emu.url:match("^%a+://(.+)$") } }
    client_scenarios(ff, report, outdir, upload_fixture(emu))
    ff:close()
    -- The curl side of the helper, aimed at Prism, with a token from the emulator.
    local proxy = setmetatable({ url = prism.url, base = tmp .. ".curl", client_id = emu.client_id,
      access_token = emu:token() }, getmetatable(emu))
    raw_scenarios(emu, proxy, report)

    -- The verdict, from Prism's log and the emulator's.
    sleep(0.3) -- Prism logs a forward after it has sent the response
    local counts, bad, nlines = M.scan_log(slurp(prism.logfile) or "")
    report.counts, report.violations = counts, bad
    local v3 = 0
    for _, e in ipairs(emu:log()) do
      if e.path:find("^/v3/") then v3 = v3 + 1 end
    end
    report.emulator_v3 = v3
    check(report, counts.received > 0 and counts.received == counts.forwarded
      and counts.forwarded == counts.returned, "every request Prism received was forwarded",
      json.encode(counts))
    check(report, v3 == counts.forwarded, "every /v3/ request the emulator saw came through Prism",
      ("emulator %d, prism %d"):format(v3, counts.forwarded))
    check(report, #bad == 0, "Prism logged no violation or error", table.concat(bad, "\n"))
    check(report, #report.header_violations == 0, "no sl-violations header",
      table.concat(report.header_violations, "\n"))

    -- Control: a bad token is answered 401, a status the spec does not list;
    -- the checker must see it (sl-violations header and a log line).
    local before = nlines
    local bogus = setmetatable({ url = prism.url, base = tmp .. ".curl", client_id = emu.client_id,
      access_token = "not-a-token" }, getmetatable(emu))
    local r = bogus:api("GET", "/v3/status/no-such-job")
    sleep(0.3)
    local _, cbad = M.scan_log(slurp(prism.logfile) or "", before)
    report.control = { status = r.status, header = r.headers["sl-violations"], lines = cbad }
    check(report, r.status == 401 and r.headers["sl-violations"] ~= nil and #cbad > 0,
      "control: a 401 the spec does not list is caught", json.encode(report.control))
  end)
  if not ok then check(report, false, "driver ran to the end", err) end

  if opts.keep_logs then
    report.prism_log = slurp(prism.logfile)
  end
  stop_prism(prism)
  emu:stop()
  os.remove(prism.logfile)
  os.execute("rm -rf " .. quote(outdir))
  os.remove(tmp)

  return M.verdict(report)
end

-- Text for a person: the failures first, then the counts.
function M.format(report)
  local out = {}
  if report.error then out[#out + 1] = "ERROR: " .. report.error end
  for _, c in ipairs(report.checks) do
    if not c.ok then out[#out + 1] = "FAIL: " .. c.what .. (c.detail and ("\n      " .. c.detail) or "") end
  end
  local passed = 0
  for _, c in ipairs(report.checks) do if c.ok then passed = passed + 1 end end
  out[#out + 1] = ("%d/%d checks passed; Prism forwarded %d requests (%s), %d violation line(s)")
    :format(passed, #report.checks, report.counts and report.counts.forwarded or 0,
      tostring(report.prism_url), #(report.violations or {}))
  for _, line in ipairs(report.violations or {}) do out[#out + 1] = "  prism: " .. line end
  out[#out + 1] = report.ok and "conformance: OK" or "conformance: FAILED"
  return table.concat(out, "\n")
end

-- For run.sh: exit status 0 when everything validated.
function M.main()
  local report = M.run { keep_logs = os.getenv("CONFORMANCE_VERBOSE") ~= nil }
  print(M.format(report))
  if report.prism_log then io.stderr:write(report.prism_log) end
  return report.ok and 0 or 1
end

-- For spec/conformance/documents.lua: the same Prism plumbing, one document at a time.
M.free_ports, M.start_prism, M.stop_prism, M.check = free_ports, start_prism, stop_prism, check

return M
