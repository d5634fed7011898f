-- Conformance of every other operation, one Adobe document at a time: for
-- each docs-site OpenAPI file a fresh emulator and a Prism proxy on that file
-- (driver.lua explains the setup and what counts as a violation). The client
-- runs the document's operation through Prism to success, polls and cancels
-- go through it too, and Prism's log must hold nothing but clean forwards.
--
-- Upload: Prism's proxy cannot carry binary bodies, so conformance/upload.lua
-- checks recorded exchanges with Prism's validator instead. Custom models:
-- Adobe's listing document makes `x-request-id` a required header, which the
-- client sends on every request.

local driver = require "conformance.driver"
local helper = require "helpers.emulator"
local firefly = require "firefly"
local openapi = require "firefly.openapi"

local M = {}
local slurp, sleep = helper.slurp, helper.sleep

local function upload_fixture(emu, name)
  local r = emu:api("POST", "/v2/storage/image", { headers = { ["Content-Type"] = "image/png" },
    body = slurp("spec/fixtures/" .. (name or "hero.png")) })
  assert(r.status == 200, "upload failed: " .. tostring(r.status) .. " " .. r.body)
  return r.json.images[1].id
end

-- Runs `op` to success and downloads its first output; then one stuck job cancelled.
local function job_scenario(method, body_of, opts, cancel_body_of)
  return function(ff, ctx, report)
    local check = driver.check
    local res, err = ff[method](ff, body_of(ctx), opts)
    if check(report, res, method .. ": polled to success", err) then
      local bytes, berr = res.outputs[1]:bytes()
      check(report, bytes and #bytes > 0, method .. ": output downloaded", berr)
    end
    if cancel_body_of then
      local job, jerr = ff[method](ff, cancel_body_of(ctx), { wait = false, model_version = opts and opts.model_version })
      if check(report, job, method .. ": stuck job submitted", jerr) then
        local deadline = helper.now() + 10
        while job.status ~= "running" and not job.finished and helper.now() < deadline do ff:step(0.1) end
        check(report, job:cancel(), method .. ": cancel requested")
        local r2, werr = job:wait(30)
        check(report, r2 == nil and werr and werr.kind == "canceled", method .. ": job ends canceled", werr or "succeeded")
      end
    end
  end
end

local function image(ctx) return { source = { uploadId = ctx.upload_id } } end

M.DOCUMENTS = {
  { name = "generate_similar_async_v3",
    run = job_scenario("generate_similar_images", function(ctx)
      return { image = image(ctx), numVariations = 2, seeds = { 3, 4 }, size = { width = 32, height = 32 } }
    end, { model_version = "image4_standard" }) },
  { name = "generative_expand_async_v3",
    run = job_scenario("expand_image", function(ctx)
      return { image = image(ctx), prompt = "a meadow", size = { width = 96, height = 64 },
        placement = { inset = { left = 8, top = 8, right = 24, bottom = 8 } } }
    end, nil, function(ctx) return { image = image(ctx), prompt = "fog [emulator:stuck]" } end) },
  { name = "generative_fill_async_v3",
    run = job_scenario("fill_image", function(ctx)
      return { image = image(ctx), mask = { source = { uploadId = ctx.mask_id }, invert = true },
        prompt = "a kite", negativePrompt = "text", promptBiasingLocaleCode = "en-US" }
    end) },
  { name = "generate_object_composite_async_v3",
    run = job_scenario("generate_object_composite", function(ctx)
      return { image = image(ctx), prompt = "on a desk", contentClass = "art", size = { width = 40, height = 40 },
        style = { presets = { "watercolor" }, strength = 50 } }
    end) },
  { name = "generate_video_api",
    run = job_scenario("generate_video", function(ctx)
      return { prompt = "waves", sizes = { { width = 32, height = 18 } }, seeds = { 5 }, bitRateFactor = 18,
        videoSettings = { cameraMotion = "camera pan left", promptStyle = "cinematic" },
        image = { conditions = { { source = { uploadId = ctx.upload_id }, placement = { position = 0 } } } } }
    end, { model_version = "video1_standard" }, function() return { prompt = "tide [emulator:stuck]" } end) },
  -- Prism 5's proxy re-encodes a binary request body as UTF-8 text before
  -- forwarding it (a PNG's 0x89 arrives as two bytes), so the upload is checked
  -- with Prism's validator over recorded exchanges instead (conformance/upload.lua).
  { name = "upload_image", check = function() return require("conformance.upload").run() end },
  -- Through the client: it sends a fresh x-request-id on every request, which
  -- Adobe's listing document requires. (Not "-modifiedDate": the document's
  -- sortBy enum lacks the reversed forms its prose describes; Prism refuses it.)
  { name = "custom_models_listing",
    run = function(ff, ctx, report)
      for _, q in ipairs({ {}, { publishedState = "all", start = 0, limit = 3, sortBy = "createdDate" },
        { publishedState = "all", start = 6, limit = 3 }, { publishedState = "training" },
        { publishedState = "all", start = 9, limit = 3, sortBy = "assetName" } }) do
        local page, err = ff:list_custom_models(q)
        driver.check(report, page and type(page.custom_models) == "table",
          "custom-models " .. helper.json.encode(q) .. ": a page", err)
      end
      local n = 0
      for _ in ff:custom_models({ publishedState = "all", limit = 4 }) do n = n + 1 end
      driver.check(report, n > 0, "custom-models: iterated every page", n)
    end },
}

-- One document: emulator + Prism, the scenario, then the verdict from both logs.
function M.run_document(doc)
  if doc.check then return doc.check(doc) end
  local report = { name = doc.name, checks = {}, violations = {} }
  local tmp = os.tmpname()
  local prism, emu, why
  for _ = 1, 3 do
    local pport, eport = driver.free_ports(2)
    local ok, e = pcall(helper.start, { job_seconds = 0.6, extra = {
      "--port", tostring(eport), ["public-url"] = "http://127.0.0.1:" .. pport,
      ["output-url"] = "http://127.0.0.1:" .. eport } })
    if ok then
      emu = e
      prism, why = driver.start_prism(openapi.path(doc.name), emu.url, pport, tmp .. ".prism.log")
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
    local ctx = { upload_id = upload_fixture(emu), mask_id = upload_fixture(emu, "mask.png") }
    ctx.proxy = setmetatable({ url = prism.url, base = tmp .. ".curl", client_id = emu.client_id,
      access_token = emu:token() }, getmetatable(emu))
    local ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
      api_url = prism.url, ims_url = emu.url, poll_interval = 0.2, poll_max = 0.5, max_retries = 0,
      api_hosts = { emu.url:match("^%a+://(.+)$") } }
    doc.run(ff, ctx, report)
    ff:close()
    sleep(0.3)
    local counts, bad = driver.scan_log(slurp(prism.logfile) or "")
    report.counts, report.violations = counts, bad
    driver.check(report, counts.received > 0 and counts.received == counts.forwarded
      and counts.forwarded == counts.returned, "every request Prism received was forwarded")
    driver.check(report, #bad == 0, "Prism logged no violation or error", table.concat(bad, "\n"))
  end)
  if not ok then driver.check(report, false, "driver ran to the end", err) end
  driver.stop_prism(prism)
  emu:stop()
  os.remove(prism.logfile)
  os.remove(tmp)
  return driver.verdict(report)
end

function M.format(report)
  local out = { "== " .. report.name }
  if report.error then out[#out + 1] = "ERROR: " .. report.error end
  for _, c in ipairs(report.checks) do
    if not c.ok then out[#out + 1] = "FAIL: " .. c.what .. (c.detail and ("\n      " .. c.detail) or "") end
  end
  out[#out + 1] = ("%d checks; Prism forwarded %d requests; %d violation line(s)"):format(#report.checks,
    report.counts and report.counts.forwarded or 0, #(report.violations or {}))
  return table.concat(out, "\n")
end

return M
