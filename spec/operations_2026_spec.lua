-- The operations of Adobe's 2026 document through the client, end to end
-- against the emulator: Image 5 (the model picks /v4), upscale, the precise and
-- adaptive composites, with {path = ...} sources in every image field, wait =
-- false jobs, outputs that save and give bytes; and the new answers: 451
-- content_policy, 422 cai_assertion_violation_error, TIFF and JPEG XL uploads,
-- JobResponse's timeout.
local helper = require "helpers.emulator"
local recorder = require "helpers.recorder"

local HERO, MASK = "spec/fixtures/hero.png", "spec/fixtures/mask.png"
local PNG = "\137PNG\r\n\26\n"

local function png_size(bytes)
  local function be32(i)
    local a, b, c, d = bytes:byte(i, i + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  return { be32(17), be32(21) }
end

local function tmpfile(bytes)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end

describe("the 2026 operations", function()
  local emu, ff, dir
  setup(function()
    emu, ff = helper.serve({ job_seconds = 0.3 }, { poll_interval = 0.1 })
    dir = helper.tmpdir()
  end)
  teardown(function()
    helper.close(emu, ff)
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function posts(path) return emu:count("POST", "^" .. path:gsub("%-", "%%-") .. "$") end

  -- A client whose API requests go through a recording proxy; the statusUrl still
  -- names the emulator, so its origin gets the credentials too.
  local function recorded()
    local rec = assert(recorder.start(emu.url))
    return rec, emu:client { api_url = rec.url, poll_interval = 0.1, api_hosts = { emu.url:match("^https?://(.+)$") } }
  end

  describe("Image 5", function()
    it("goes to POST /v4/images/generate-async with x-model-version image5, the model choosing the path", function()
      local rec, via = recorded()
      local r = assert(via:generate_images({ prompt = "a paper boat", aspectRatio = "16:9", resolutionLevel = "1MP",
        modelSpecificPayload = { prompt_reasoner = "quality", localeCode = "en-US" } }, { model_version = "image5" }))
      local submits = {}
      for _, q in ipairs(rec:requests()) do
        if q.method == "POST" and q.path:find("^/v%d/images/") then submits[#submits + 1] = q end
      end
      rec:stop()
      assert.are.equal(1, #submits)
      assert.are.equal("/v4/images/generate-async", submits[1].path)
      assert.are.equal("image5", submits[1].headers["x-model-version"])
      assert.are.equal(200, submits[1].response.status) -- Image 5 accepts with 200 {links}
      assert.truthy(submits[1].response.body:find('"links"', 1, true))
      assert.are.equal(1, #r.outputs)
      assert.are.equal("string", type(r.outputs[1].url))
      assert.are.equal(r.outputs[1].image.url, r.outputs[1].url) -- Adobe's own field kept beside it
      assert.are.equal(PNG, assert(r.outputs[1]:bytes()):sub(1, 8))
      via:close()
    end)

    it("runs as a wait = false job with an id, a status, progress, wait and a reference blob from a file", function()
      local before = emu:count("POST", "^/v2/storage/image$")
      local seen = {}
      local j = assert(ff:generate_images({ prompt = "a paper boat", aspectRatio = "auto", seeds = { 5 },
        referenceBlobs = { { source = { path = HERO }, usage = "general" } } },
        { model_version = "image5", wait = false, on_progress = function(job) seen[#seen + 1] = job.status end }))
      assert.are.equal("uploading", j.status) -- the file goes up as the job is stepped
      local r = assert(j:wait(20))
      assert.are.equal(before + 1, emu:count("POST", "^/v2/storage/image$"))
      assert.truthy(j.id and j.id ~= "")
      assert.are.equal("succeeded", j.status)
      assert.are.equal(100, j.progress)
      assert.is_true(#seen >= 2)
      assert.are.equal(5, r.outputs[1].seed)
      local path = assert(r.outputs[1]:save(dir .. "/boat.png"))
      assert.are.equal(PNG, helper.slurp(path):sub(1, 8))
    end)

    it("is refused before sending where the reference-blob rule is broken", function()
      local before = posts("/v4/images/generate-async")
      local _, err = ff:generate_images({ prompt = "x", aspectRatio = "4:3",
        referenceBlobs = { { source = { uploadId = "510aabb4-e154-4a7b-bd2e-f492ee71c938" } } } },
        { model_version = "image5" })
      assert.are.equal("validation", err.kind)
      assert.truthy(err.message:find("body.aspectRatio", 1, true))
      assert.are.equal(before, posts("/v4/images/generate-async"))
    end)

    it("answers a 451 as content_policy with Adobe's code, sent once and never retried", function()
      local before = posts("/v4/images/generate-async")
      local r, err = ff:generate_images({ prompt = "a boat [emulator:unsafe]" }, { model_version = "image5" })
      assert.is_nil(r)
      assert.are.equal("content_policy", err.kind)
      assert.are.equal(451, err.status)
      assert.are.equal("prompt_unsafe", err.code)
      assert.are.equal(before + 1, posts("/v4/images/generate-async"))
    end)

    it("reads the progress of Image 5's AsyncTaskResponse accept into job.progress", function()
      local at_accept
      assert(ff:generate_images({ prompt = "a paper boat", seeds = { 6 } }, { model_version = "image5",
        on_progress = function(job) at_accept = at_accept or { job.status, job.progress } end }))
      assert.are.same({ "pending", 0 }, at_accept)
    end)
  end)

  describe("upscale", function()
    it("enlarges a local file by the factor, sending precise_upsampler_v1 unless told otherwise", function()
      local rec, via = recorded()
      local r = assert(via:upscale_image { image = { source = { path = HERO } }, seeds = { 3 }, upscaleFactor = 2 })
      local header
      for _, q in ipairs(rec:requests()) do
        if q.path == "/v3/images/upscale" then header = q.headers["x-model-version"] end
      end
      rec:stop()
      assert.are.equal("precise_upsampler_v1", header)
      local out = r.outputs[1]
      assert.are.equal(out.presignedUrl, out.url) -- upscale's own shape, kept
      assert.are.equal("string", type(r.version))
      local input = png_size(helper.slurp(HERO))
      local path = assert(out:save(dir .. "/up.png"))
      assert.are.same({ input[1] * 2, input[2] * 2 }, png_size(helper.slurp(path)))
      assert.are.same(png_size(helper.slurp(path)), png_size(assert(out:bytes())))
      via:close()
    end)

    it("reads the progress of the links-shape accept into job.progress, before any poll", function()
      local at_accept = {}
      local j = assert(ff:upscale_image({ image = { source = { path = HERO } }, seeds = { 4 } }, { wait = false,
        on_progress = function(job)
          if #at_accept == 0 then at_accept = { job.status, job.progress, emu:count("GET", "^/v3/status/") } end
        end }))
      local before = emu:count("GET", "^/v3/status/")
      assert(j:wait(20))
      -- The emulator accepts with {links, progress = 0}, as PreciseUpscaleAcceptResponseV3 has it.
      assert.are.same({ "pending", 0, before }, at_accept)
    end)

    it("is answered from the result cache the second time, its presignedUrl outputs stored like any other", function()
      local cached = emu:client { poll_interval = 0.1, cache = dir .. "/cache" }
      local body = { image = { source = { path = HERO } }, seeds = { 11 }, upscaleFactor = 2 }
      local first = assert(cached:upscale_image(body))
      local before = posts("/v3/images/upscale")
      local again = assert(cached:upscale_image(body))
      assert.are.equal(before, posts("/v3/images/upscale"))
      assert.is_true(again.from_cache)
      assert.are.equal(assert(first.outputs[1]:bytes()), assert(again.outputs[1]:bytes()))
      cached:close()
    end)

    it("refuses creative_upsampler_v1 locally, with Adobe's reason, sending nothing", function()
      local before = posts("/v3/images/upscale")
      local _, err = ff:upscale_image({ image = { source = { uploadId = "510aabb4-e154-4a7b-bd2e-f492ee71c938" } },
        seeds = { 1 } }, { model_version = "creative_upsampler_v1" })
      assert.are.equal("validation", err.kind)
      assert.truthy(err.message:find("only 'precise_upsampler_v1' is supported", 1, true))
      assert.are.equal(before, posts("/v3/images/upscale"))
    end)

    it("cancels through the links shape's cancel href", function()
      local slow = emu:client { poll_interval = 0.1 }
      local j = assert(slow:upscale_image({ image = { source = { path = HERO } }, seeds = { 1 } }, { wait = false }))
      while not j.id do slow:step(0.05) end
      assert.truthy(j.cancel_url:find("/v3/cancel/", 1, true))
      local before = emu:count("PUT", "^/v3/cancel/")
      j:cancel()
      local r, err = j:wait(10)
      slow:close()
      assert.are.equal(before + 1, emu:count("PUT", "^/v3/cancel/"))
      if r == nil then -- the cancel may lose the race with a 0.3 s job
        assert.are.equal("canceled", err.kind)
        assert.are.equal("canceled", j.status)
      end
    end)
  end)

  describe("the composites", function()
    local function composite(extra)
      local b = { background = { image = { source = { path = HERO } }, fillAreaMask = { source = { path = MASK } } },
                  object = { image = { source = { path = HERO } } } }
      for k, v in pairs(extra or {}) do b[k] = v end
      return b
    end

    it("precise_composite takes every image from a file and gives outputs at the background's size", function()
      local r = assert(ff:precise_composite(composite { numVariations = 2, seeds = { 1, 2 }, blend = 0.2 }))
      assert.are.equal(2, #r.outputs)
      assert.are.same({ 1, 2 }, { r.outputs[1].seed, r.outputs[2].seed })
      local path = assert(r.outputs[2]:save(dir .. "/precise.png"))
      assert.are.same(png_size(helper.slurp(HERO)), png_size(helper.slurp(path)))
    end)

    it("adaptive_composite takes the object's mask from a file too, and runs as a wait = false job", function()
      local b = composite { harmonization = 0.4, shadowIntensity = 0.5, preserveBackground = true }
      b.object.mask = { source = { path = MASK } }
      local j = assert(ff:adaptive_composite(b, { wait = false }))
      local r = assert(j:wait(20))
      assert.are.equal("succeeded", j.status)
      assert.are.equal(PNG, assert(r.outputs[1]:bytes()):sub(1, 8))
    end)

    it("refuses an input over 10 MB before uploading anything", function()
      local big = tmpfile(helper.slurp(HERO) .. string.rep("\0", 10 * 1024 * 1024))
      local before = emu:count("POST", "^/v2/storage/image$")
      local b = composite()
      b.object.image.source.path = big
      local _, err = ff:precise_composite(b)
      os.remove(big)
      assert.are.equal("validation", err.kind)
      assert.truthy(err.message:find("10 MB", 1, true))
      assert.are.equal(before, emu:count("POST", "^/v2/storage/image$"))
    end)

    it("answers an input failing its content-credential checks as a validation error with Adobe's code, once",
      function()
      local marked = tmpfile(helper.slurp(HERO) .. "[emulator:cai]")
      local b = composite()
      b.object.image.source.path = marked
      local before = posts("/v3/images/adaptive-composite")
      local _, err = ff:adaptive_composite(b)
      os.remove(marked)
      assert.are.equal("validation", err.kind)
      assert.are.equal(422, err.status)
      assert.are.equal("cai_assertion_violation_error", err.code)
      assert.are.equal(before + 1, posts("/v3/images/adaptive-composite"))
    end)
  end)

  describe("video", function()
    it("sends x-model-version video1_standard by default and gives an output with url that saves", function()
      local rec, via = recorded()
      local r = assert(via:generate_video { prompt = "waves on a shore", seeds = { 4 } })
      local header
      for _, q in ipairs(rec:requests()) do
        if q.path == "/v3/videos/generate" then header = q.headers["x-model-version"] end
      end
      rec:stop()
      assert.are.equal("video1_standard", header)
      local out = r.outputs[1]
      assert.are.equal(out.video.url, out.url)
      local path = assert(out:save(dir .. "/waves.mp4"))
      via:close()
      assert.are.equal("ftyp", helper.slurp(path):sub(5, 8))
    end)
  end)

  describe("uploads", function()
    it("take TIFF and JPEG XL, typed from their bytes", function()
      for _, case in ipairs { { helper.slurp("spec/fixtures/small.tif"), "tiff" },
                              { "\255\10\5\18" .. ("\0"):rep(60), "jxl" } } do
        local id, info = ff:upload_image(case[1])
        assert(id, case[2] .. ": " .. tostring(info))
        assert.are.equal(id, info.id)
      end
    end)

    it("answer a 451 as content_policy", function()
      local before = emu:count("POST", "^/v2/storage/image$")
      local _, err = ff:upload_image(helper.slurp(HERO) .. "[emulator:unsafe]")
      assert.are.equal("content_policy", err.kind)
      assert.are.equal(451, err.status)
      assert.are.equal("image_unsafe", err.code)
      assert.are.equal(before + 1, emu:count("POST", "^/v2/storage/image$"))
    end)
  end)

  describe("JobResponse's statuses", function()
    it("end a job the service timed out as a timeout of its own, with Adobe's code and message", function()
      local j = assert(ff:generate_images({ prompt = "a kite [emulator:timeout]" }, { wait = false }))
      local r, err = j:wait(20)
      assert.is_nil(r)
      assert.are.equal("timeout", err.kind)
      assert.are.equal("timeout", j.status)
      assert.are.equal("timeout_error", err.code)
      assert.truthy(err.message:find("timed out", 1, true))
      assert.is_nil(err.status)
    end)

    it("end a failed job with the poll's error_code and message", function()
      local _, err = ff:generate_images { prompt = "a kite [emulator:fail]" }
      assert.are.equal("job_failed", err.kind)
      assert.are.equal("runtime_error", err.code)
      assert.truthy(err.message:find("[emulator:fail]", 1, true))
    end)
  end)

  describe("from the command line", function()
    local interp = helper.lua
    local function firefly(args)
      local p = io.popen(("FIREFLY_SERVICES_CLIENT_ID=%s FIREFLY_SERVICES_CLIENT_SECRET=%s FIREFLY_SERVICES_API_URL=%s "
        .. "FIREFLY_SERVICES_IMS_URL=%s ASAN_OPTIONS=detect_leaks=0 %s bin/firefly %s 2>&1; echo \"rc=$?\"")
        :format(emu.client_id, emu.client_secret, emu.url, emu.url, interp, args))
      local out = p:read("*a")
      p:close()
      return out:gsub("rc=%d+%s*$", ""), tonumber(out:match("rc=(%d+)%s*$"))
    end

    it("has a command for each, saving PNGs into -o", function()
      for _, case in ipairs {
        { "generate 'a paper boat' --model-version image5", "/v4/images/generate-async" },
        { "upscale " .. HERO .. " --factor 3 --seed 9", "/v3/images/upscale" },
        { "precise-composite " .. HERO .. " " .. MASK .. " " .. HERO .. " --blend 0.4 -n 2 --seed 1",
          "/v3/images/precise-composite" },
        { "adaptive-composite " .. HERO .. " " .. MASK .. " " .. HERO .. " --object-mask " .. MASK
          .. " --harmonization 0.5 --preserve-background", "/v3/images/adaptive-composite" },
      } do
        local out_dir = helper.tmpdir()
        local before = posts(case[2])
        local out, rc = firefly(case[1] .. " -o " .. out_dir)
        assert.are.equal(0, rc, case[1] .. ": " .. out)
        assert.are.equal(before + 1, posts(case[2]), case[1])
        local names = helper.ls(out_dir)
        assert.is_true(#names >= 1, case[1])
        for _, name in ipairs(names) do
          assert.are.equal(PNG, helper.slurp(out_dir .. "/" .. name):sub(1, 8), name)
        end
        os.execute("rm -rf '" .. out_dir .. "'")
      end
    end)

    it("refuses creative_upsampler_v1 with the usage of a validation error, sending nothing", function()
      local before = posts("/v3/images/upscale")
      local out, rc = firefly("upscale " .. HERO .. " --model-version creative_upsampler_v1")
      assert.are.equal(before, posts("/v3/images/upscale"))
      assert.is_true(rc ~= 0)
      assert.truthy(out:find("precise_upsampler_v1", 1, true), out)
    end)
  end)
end)
