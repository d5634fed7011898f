-- Conformance with Adobe's current document (firefly-api.json, OpenAPI 3.1, all 14
-- paths), checked from outside: one Prism proxy on that document in front of the
-- emulator (driver.lua explains the plumbing), the client calling every operation
-- through it, polls and cancels too, and raw exchanges for what the client never sends.
-- Prism 5 reads OpenAPI 3.1 (its router lists all 14 paths at startup); it runs here
-- without --errors, so a response violation is logged ("[VALIDATOR] ... Violation")
-- and forwarded as it came, and one violation cannot hide the next behind a 500.
--
-- Upload is the 14th path: Prism's proxy cannot carry binary bodies, so it is checked
-- by conformance/upload.lua (Prism's validator over recorded exchanges) against this
-- same document.
--
-- The verdict: every line of Prism's log after startup is a clean forward, or matches
-- an entry of KNOWN below (a violation understood and owned, each with its reason; an
-- entry no longer seen is reported, so it can be removed); every path of the document
-- but upload was exercised; two controls prove the check can fail: a request Adobe's
-- schema refuses must be refused by Prism, and a response cut in half by the
-- emulator's badjson fault must be logged as a violation.

local driver = require "conformance.driver"
local helper = require "helpers.emulator"
local firefly = require "firefly"
local openapi = require "firefly.openapi"
local operations = require "firefly.operations"

local M = {}
local slurp, sleep, json = helper.slurp, helper.sleep, helper.json
local check = driver.check

M.SPEC = openapi.path("firefly_api")

-- Exchanges with violations understood, each with why. An exchange (a request and the
-- lines Prism logs about it) is known when its route is `route` and one of its lines
-- matches `signature`; its other lines are then taken as part of the same fault.
M.KNOWN = {
  { route = "GET /v3/status/{jobId}", signature = "result%.outputs%.0 must have required property 'image'",
    why = "Adobe's JobResponse has no shape for a finished video job (API-NOTES §10.5): "
      .. "the video result stays as the video path documents it" },
}

local CONTROL_JOB = "control-badjson"

local function upload_fixture(emu, name)
  local r = emu:api("POST", "/v2/storage/image", { headers = { ["Content-Type"] = "image/png" },
    body = slurp("spec/fixtures/" .. (name or "hero.png")) })
  assert(r.status == 200, "upload failed: " .. tostring(r.status) .. " " .. r.body)
  return r.json.images[1].id
end

local function src(id) return { source = { uploadId = id } } end

-- Each operation of the registry that takes a JSON body: a body, and opts.
local function scenarios(ctx)
  local img, mask = src(ctx.upload_id), src(ctx.mask_id)
  return {
    { "generate_images", { prompt = "a lighthouse at dusk" } },
    { "generate_images", { prompt = "a lighthouse at dusk, oil on canvas", negativePrompt = "people, text",
      numVariations = 2, seeds = { 11, 22 }, size = { width = 64, height = 48 }, contentClass = "art",
      promptBiasingLocaleCode = "en-US", upsamplerType = "default", visualIntensity = 6,
      style = { presets = { "watercolor" }, strength = 60, imageReference = img },
      structure = { strength = 40, imageReference = img } } },
    { "generate_images", { prompt = "a blue kite", seeds = { 7 } }, { model_version = "image3" } },
    { "generate_images", { prompt = "a red kite", size = { width = 32, height = 32 } },
      { model_version = "image4_standard" } },
    { "generate_images", { prompt = "a fox in snow", aspectRatio = "1:1", resolutionLevel = "1MP",
      modelSpecificPayload = { prompt_reasoner = "speed" } }, { model_version = "image5" } },
    { "generate_similar_images", { image = img, numVariations = 1, size = { width = 32, height = 32 } } },
    { "expand_image", { image = img, prompt = "a meadow", size = { width = 96, height = 64 },
      placement = { inset = { left = 8, top = 8, right = 24, bottom = 8 } } } },
    { "fill_image", { image = img, mask = { source = { uploadId = ctx.mask_id }, invert = true }, prompt = "a kite" } },
    { "generate_object_composite", { image = img, prompt = "on a desk", size = { width = 40, height = 40 } } },
    { "precise_composite", { background = { image = img, fillAreaMask = mask }, object = { image = img },
      blend = 0.5, output = { mediaType = "image/png" } } },
    { "adaptive_composite", { background = { image = img, fillAreaMask = mask }, object = { image = img, mask = mask },
      harmonization = 0.6, shadowIntensity = 1 } },
    { "upscale_image", { image = img, seeds = { 1 }, upscaleFactor = 2 } },
    { "generate_video", { prompt = "waves", sizes = { { width = 32, height = 18 } }, seeds = { 5 },
      image = { conditions = { { source = { uploadId = ctx.upload_id }, placement = { position = 0 } } } } } },
  }
end

local function client_scenarios(ff, ctx, report)
  for _, s in ipairs(scenarios(ctx)) do
    local method, body, opts = s[1], s[2], s[3] or {}
    local what = method .. (opts.model_version and (" " .. opts.model_version) or "")
    local res, err = ff[method](ff, body, opts)
    if check(report, res, what .. ": polled to success", err) then
      local out = res.outputs and res.outputs[1]
      local bytes, berr
      if out then bytes, berr = out:bytes() end
      check(report, bytes and #bytes > 0, what .. ": output downloaded", berr)
    end
  end
  -- A stuck job cancelled through its cancelUrl, then polled to its end.
  local job, jerr = ff:generate_images({ prompt = "a slow sunset [emulator:stuck]" }, { wait = false })
  if check(report, job, "cancel: stuck job submitted", jerr) then
    local deadline = helper.now() + 10
    while job.status ~= "running" and not job.finished and helper.now() < deadline do ff:step(0.1) end
    check(report, job:cancel(), "cancel: requested")
    local r, werr = job:wait(30)
    check(report, r == nil and werr and werr.kind == "canceled", "cancel: job ends canceled", werr or "succeeded")
  end
  local bad, berr = ff:generate_images({ prompt = "a fox [emulator:unsafe]" }, { model_version = "image5" })
  check(report, bad == nil and berr and berr.kind == "content_policy" and berr.code == "prompt_unsafe",
    "unsafe prompt on Image 5: content_policy prompt_unsafe", berr or "succeeded")
  local res, err = ff:generate_images({ prompt = "a broken vase [emulator:fail]" })
  check(report, res == nil and err and err.kind == "job_failed", "failed job: job_failed", err or "succeeded")
  for _, q in ipairs({ {}, { publishedState = "all", start = 0, limit = 3, sortBy = "createdDate" },
    { publishedState = "training" }, { publishedState = "all", start = 6, limit = 3, sortBy = "assetName" } }) do
    local page, perr = ff:list_custom_models(q)
    check(report, page and type(page.custom_models) == "table", "custom models " .. json.encode(q) .. ": a page", perr)
  end
  local n = 0
  for _ in ff:custom_models({ publishedState = "all", limit = 4 }) do n = n + 1 end
  check(report, n > 0, "custom models: every page iterated", n)
  local _, uerr = ff:job("urn:ff:jobs:emu851000:00000000-0000-4000-8000-000000000000")
  check(report, uerr and uerr.status == 404, "unknown job: 404", uerr)
end

-- What the client never sends on its own: a second cancel, a cancel of a finished
-- job, unknown ids, a body only a prose rule refuses.
local function raw_scenarios(proxy, report)
  local function raw(what, method, target, want, opts)
    local r = proxy:api(method, target, opts)
    check(report, r.status == want, what .. ": HTTP " .. want, r.status .. " " .. r.body)
    return r
  end
  local sub = raw("raw submit", "POST", "/v3/images/generate-async", 202,
    { json = { prompt = "a paper boat [emulator:stuck]", size = { width = 16, height = 16 } } })
  local id = sub.json and sub.json.jobId or "missing"
  check(report, sub.json and sub.json.statusUrl == proxy.url .. "/v3/status/" .. id,
    "raw submit: statusUrl points at Prism", sub.json and sub.json.statusUrl)
  raw("raw status", "GET", "/v3/status/" .. id, 200)
  local c = raw("raw cancel", "PUT", "/v3/cancel/" .. id, 200)
  check(report, c.body:match("^%s*{%s*}%s*$"), "raw cancel: body {}", c.body)
  raw("raw cancel again", "PUT", "/v3/cancel/" .. id, 409)
  raw("raw status after cancel", "GET", "/v3/status/" .. id, 200)
  raw("raw status unknown", "GET", "/v3/status/no-such-job", 404)
  raw("raw cancel unknown", "PUT", "/v3/cancel/no-such-job", 404)
  local v = raw("raw prose-rule refusal", "POST", "/v3/images/generate-async", 422,
    { json = { prompt = "two kites", numVariations = 2, seeds = { 1 } } })
  check(report, v.json and v.json.error_code == "validation_error", "raw prose-rule refusal: validation_error", v.body)
  local done = raw("raw submit to finish", "POST", "/v3/images/generate-async", 202,
    { json = { prompt = "a stone", size = { width = 8, height = 8 } } })
  local did = done.json and done.json.jobId or "missing"
  local deadline = helper.now() + 10
  repeat
    sleep(0.1)
    local r = proxy:api("GET", "/v3/status/" .. did)
  until (r.json and r.json.status == "succeeded") or helper.now() > deadline
  local fin = raw("raw cancel finished job", "PUT", "/v3/cancel/" .. did, 409)
  check(report, fin.json and fin.json.error_code == "job_completed", "raw cancel finished: job_completed", fin.body)
  -- A prompt the content policy refuses, where the document declares 451 (Image 5).
  local u = proxy:api("POST", "/v4/images/generate-async",
    { json = { prompt = "a fox [emulator:unsafe]" }, headers = { ["x-model-version"] = "image5" } })
  check(report, u.status == 451 and u.json and u.json.error_code == "prompt_unsafe",
    "raw unsafe prompt on Image 5: 451 prompt_unsafe", u.status .. " " .. u.body)
end

-- "post /v3/status/urn:..." -> the document path it routes to, or nil.
local function route(method, path)
  local op = operations.find(method:upper(), path)
  return op and (op.http .. " " .. op.path)
end

-- Groups Prism's log after startup by exchange (Prism is asked one request at a time)
-- and sorts them: clean, known (an entry of `known`), or unknown (every line kept).
function M.judge(text, known)
  local counts = driver.scan_log(text)
  local exchanges, started = {}, false
  for line in text:gmatch("[^\n]+") do
    if not started then
      started = line:find("Prism is listening on", 1, true) ~= nil
    else
      local method, path = line:match("%[HTTP SERVER%] (%a+) (%S+) ℹ%s+info%s+Request received$")
      if method then
        exchanges[#exchanges + 1] = { route = route(method, path) or (method:upper() .. " " .. path), bad = {} }
      elseif exchanges[#exchanges] then
        local _, bad = driver.scan_log("Prism is listening on\n" .. line)
        for _, b in ipairs(bad) do table.insert(exchanges[#exchanges].bad, b) end
      end
    end
  end
  local unknown, seen, paths = {}, {}, {}
  for _, x in ipairs(exchanges) do
    paths[x.route] = (paths[x.route] or 0) + 1
    if #x.bad > 0 then
      local hit
      for i, k in ipairs(known or M.KNOWN) do
        if k.route == x.route then
          for _, line in ipairs(x.bad) do
            if line:find(k.signature) then hit = i break end
          end
        end
        if hit then break end
      end
      if hit then
        seen[hit] = (seen[hit] or 0) + 1
      else
        for _, line in ipairs(x.bad) do unknown[#unknown + 1] = x.route .. ": " .. line end
      end
    end
  end
  return { counts = counts, unknown = unknown, seen = seen, paths = paths }
end

function M.run()
  local report = { name = "firefly-api.json", checks = {}, violations = {} }
  return driver.session({ spec = M.SPEC, errors = false,
    extra = { ["faults-script"] = "GET /v3/status/" .. CONTROL_JOB .. "=badjson" } }, report,
    function(emu, prism, proxy)
      local ctx = { upload_id = upload_fixture(emu), mask_id = upload_fixture(emu, "mask.png") }
      -- No retries: a 5xx must surface, not be retried away.
      local ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
        api_url = prism.url, ims_url = emu.url, poll_interval = 0.2, poll_max = 0.5, max_retries = 0,
        api_hosts = { emu.url:match("^%a+://(.+)$") } }
      client_scenarios(ff, ctx, report)
      ff:close()
      raw_scenarios(proxy, report)
      sleep(0.3) -- Prism logs a forward after it has sent the response
      local verdict = M.judge(slurp(prism.logfile) or "")
      report.counts, report.violations = verdict.counts, verdict.unknown
      report.paths, report.seen = verdict.paths, verdict.seen
      check(report, verdict.counts.received > 0 and verdict.counts.received == verdict.counts.returned,
        "every request Prism received was answered by the emulator", json.encode(verdict.counts))
      local api = 0
      for _, e in ipairs(emu:log()) do
        if e.path:find("^/v%d/") and not e.path:find("^/v2/storage/") then api = api + 1 end
      end
      check(report, api == verdict.counts.returned, "every API request the emulator saw came through Prism",
        ("emulator %d, prism %d"):format(api, verdict.counts.returned))
      check(report, #verdict.unknown == 0, "Prism logged no violation beyond the known ones",
        table.concat(verdict.unknown, "\n"))
      for _, path in ipairs(operations.paths()) do
        local http
        for _, op in ipairs(operations.list) do
          if op.path == path and not op.deprecated then http = op.http break end
        end
        local key = http .. " " .. path
        if path ~= "/v2/storage/image" then
          check(report, (verdict.paths[key] or 0) > 0, key .. ": exercised through Prism", json.encode(verdict.paths))
        end
      end

      -- Refusals: on every JSON path a body Adobe's schema refuses. Prism logs the
      -- request's violation (expected: that is the point); the emulator's 422 must then
      -- be the document's error body, so only response lines count.
      local _, _, mark = driver.scan_log(slurp(prism.logfile) or "")
      for _, op in ipairs(operations.list) do
        if op.body == "json" and not op.deprecated then
          local headers = op.model_version and { ["x-model-version"] = op.model_version } or nil
          local r = proxy:api(op.http, op.path, { json = { seeds = "not a list" }, headers = headers })
          check(report, r.status == 422 and r.json and r.json.error_code == "validation_error",
            op.http .. " " .. op.path .. " refused: 422 validation_error", r.status .. " " .. r.body)
        end
      end
      sleep(0.3)
      local after, n = { "Prism is listening on" }, 0
      for line in (slurp(prism.logfile) or ""):gmatch("[^\n]+") do
        n = n + 1
        if n > mark and not line:find("Violation: request") then after[#after + 1] = line end
      end
      local answers = M.judge(table.concat(after, "\n")).unknown
      check(report, #answers == 0, "every 422 the emulator answered is the document's", table.concat(answers, "\n"))

      -- Controls. A body the schema refuses (upscale without its image and seeds) and a
      -- status answer cut in half must each draw a line of their own in Prism's log.
      local _, _, before = driver.scan_log(slurp(prism.logfile) or "")
      proxy:api("POST", "/v3/images/upscale", { json = { upscaleFactor = 2 } })
      proxy:api("GET", "/v3/status/" .. CONTROL_JOB)
      sleep(0.3)
      local _, cbad = driver.scan_log(slurp(prism.logfile) or "", before)
      report.control = cbad
      local saw_request, saw_response = false, false
      for _, line in ipairs(cbad) do
        if line:find("Violation: request%.body") then saw_request = true end
        if line:find("control%-badjson") and line:find("Request terminated with error") then saw_response = true end
      end
      check(report, saw_request, "control: the refused request is logged as a violation", table.concat(cbad, "\n"))
      check(report, saw_response, "control: the half response is logged as an error", table.concat(cbad, "\n"))
    end)
end

function M.format(report)
  local paths = 0
  for _ in pairs(report.paths or {}) do paths = paths + 1 end
  local lines = { ("%d checks; Prism received %d requests on %d paths; %d unknown violation line(s)")
    :format(#report.checks, report.counts and report.counts.received or 0, paths, #(report.violations or {})) }
  for i, k in ipairs(M.KNOWN) do
    lines[#lines + 1] = ("known: %s %q seen %d time(s): %s")
      :format(k.route, k.signature, (report.seen or {})[i] or 0, k.why)
  end
  return driver.format(report, lines)
end

return M
