-- test: once (it talks to the emulator over HTTP only: the interpreter under test plays no part)
-- The emulator's operations beyond generate: similar, expand, fill, object
-- composite (async and the deprecated sync paths), video, upload, the custom
-- models listing, and --rate-limit. Raw HTTP through curl, as Adobe's own
-- clients would see it.
local helper = require "helpers.emulator"

local slurp = helper.slurp
local UUID4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function fixture(name)
  local bytes = assert(slurp("spec/fixtures/" .. name), "missing fixture " .. name)
  return bytes
end

local function png_size(bytes)
  local function be32(i)
    local a, b, c, d = bytes:byte(i, i + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  return be32(17), be32(21)
end

local function upload(emu, bytes, ctype)
  return emu:api("POST", "/v2/storage/image", { headers = { ["Content-Type"] = ctype or "image/png" }, body = bytes })
end

local function upload_id(emu, name, ctype)
  local r = upload(emu, fixture(name or "hero.png"), ctype)
  assert.are.equal(200, r.status, r.body)
  return r.json.images[1].id
end

-- Polls a job to a terminal state; returns the last status document.
local function poll(emu, status_url)
  local doc
  for _ = 1, 200 do
    local r = emu:api("GET", status_url)
    assert.are.equal(200, r.status, r.body)
    doc = r.json
    if doc.status ~= "pending" and doc.status ~= "running" then return doc end
    helper.sleep(0.05)
  end
  return doc
end

local function fetch(emu, url)
  local r = emu:request("GET", url)
  assert.are.equal(200, r.status, r.body)
  return r
end

describe("emulator operations", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3 } end)
  teardown(function() emu:stop() end)

  describe("POST /v2/storage/image", function()
    it("stores a PNG, a JPEG and a WEBP and answers with a uuid4 id", function()
      local cases = { { "hero.png", "image/png" }, { "small.jpg", "image/jpeg" }, { "small.webp", "image/webp" } }
      for _, case in ipairs(cases) do
        local r = upload(emu, fixture(case[1]), case[2])
        assert.are.equal(200, r.status, r.body)
        assert.are.equal(1, #r.json.images)
        assert.truthy(r.json.images[1].id:match(UUID4))
        assert.truthy(r.headers["x-request-id"])
      end
    end)

    it("refuses another Content-Type with 415", function()
      local r = upload(emu, fixture("hero.png"), "image/gif")
      assert.are.equal(415, r.status)
      assert.are.equal("invalid_content_type", r.json.error_code)
    end)

    it("stores a TIFF and a JPEG XL, sniffed from their bytes, and learns their size", function()
      -- A JPEG XL codestream: signature, then SizeHeader bits for 40x24.
      local jxl = "\255\10\5\18" .. ("\0"):rep(60)
      for _, case in ipairs({ { fixture("small.tif"), "image/tiff" }, { jxl, "image/jxl" } }) do
        local r = upload(emu, case[1], case[2])
        assert.are.equal(200, r.status, r.body)
        local id = r.json.images[1].id
        local sub = emu:api("POST", "/v3/images/fill-async", { json = { image = { source = { uploadId = id } },
          mask = { source = { uploadId = id } }, prompt = "a hole" } })
        assert.are.equal(202, sub.status, sub.body)
        local doc = poll(emu, sub.json.statusUrl)
        assert.are.same({ 40, 24 }, { png_size(fetch(emu, doc.result.outputs[1].image.url).body) }, case[2])
      end
      assert.are.equal(400, upload(emu, fixture("small.tif"), "image/jxl").status)
    end)

    it("refuses bytes that are not the declared type with 400 10075", function()
      local r = upload(emu, fixture("small.jpg"), "image/png")
      assert.are.equal(400, r.status)
      assert.are.same({ message = "Bad Request", error_code = "10075" }, r.json)
      r = upload(emu, "", "image/png")
      assert.are.equal(400, r.status)
    end)

    it("refuses more than 15 MB with 413 text/html", function()
      local big = fixture("hero.png") .. string.rep("\0", 15 * 1024 * 1024)
      local r = upload(emu, big, "image/png")
      assert.are.equal(413, r.status)
      assert.truthy(r.headers["content-type"]:find("text/html", 1, true))
    end)

    it("sits behind the gateway", function()
      local r = emu:request("POST", "/v2/storage/image", { headers = { ["Content-Type"] = "image/png" },
        body = fixture("hero.png") })
      assert.are.equal(403, r.status)
      assert.are.equal("403000", r.json.error_code)
    end)

    it("refuses an unknown uploadId in a body with 422 naming the field", function()
      local r = emu:api("POST", "/v3/images/generate-similar-async",
        { json = { image = { source = { uploadId = "00000000-0000-4000-8000-000000000000" } } } })
      assert.are.equal(422, r.status)
      assert.are.equal("validation_error", r.json.error_code)
      assert.are.same({ "body", "image", "source", "uploadId" }, r.json.validation_errors[1].loc)
    end)
  end)

  describe("async image operations", function()
    local function submit(path, body)
      local r = emu:api("POST", path, { json = body, headers = { ["x-request-id"] = "req-ops-1" } })
      assert.are.equal(202, r.status, r.body)
      assert.are.equal("req-ops-1", r.headers["x-request-id"])
      assert.truthy(r.headers["link"]:find('rel="cancel"', 1, true))
      assert.truthy(r.json.jobId:match("^urn:ff:jobs:"))
      local doc = poll(emu, r.json.statusUrl)
      assert.are.equal("succeeded", doc.status, helper.json.encode(doc))
      return doc.result
    end

    it("generate-similar-async makes numVariations outputs at the requested size", function()
      local id = upload_id(emu)
      local res = submit("/v3/images/generate-similar-async", { image = { source = { uploadId = id } },
        numVariations = 2, size = { width = 32, height = 24 } })
      assert.are.same({ width = 32, height = 24 }, res.size)
      assert.are.equal(2, #res.outputs)
      assert.are.same({ 32, 24 }, { png_size(fetch(emu, res.outputs[2].image.url).body) })
      assert.is_nil(res.contentClass)
    end)

    it("expand-async makes outputs at the target size", function()
      local id = upload_id(emu)
      local res = submit("/v3/images/expand-async", { image = { source = { uploadId = id } },
        size = { width = 96, height = 64 }, placement = { alignment = { horizontal = "left" } } })
      assert.are.same({ width = 96, height = 64 }, res.size)
      assert.are.same({ 96, 64 }, { png_size(fetch(emu, res.outputs[1].image.url).body) })
    end)

    it("fill-async makes outputs at the input image's size", function()
      local image, mask = upload_id(emu, "hero.png"), upload_id(emu, "mask.png")
      local res = submit("/v3/images/fill-async", { image = { source = { uploadId = image } },
        mask = { source = { uploadId = mask } }, prompt = "a red balloon", seeds = { 7 } })
      assert.are.same({ width = 64, height = 48 }, res.size)
      assert.are.equal(7, res.outputs[1].seed)
      assert.are.same({ 64, 48 }, { png_size(fetch(emu, res.outputs[1].image.url).body) })
    end)

    it("fill refuses a mask whose size is not its image's, with a 422 naming the mask", function()
      local image, mask = upload_id(emu, "hero.png"), upload_id(emu, "small.jpg", "image/jpeg") -- 64x48, 40x30
      for _, case in ipairs({
        { "/v3/images/fill-async", { image = { source = { uploadId = image } }, mask = { source = { uploadId = mask } },
          prompt = "a red balloon" }, { "body", "mask", "source" } },
        { "/v3/images/fill", { image = { source = { uploadId = image }, mask = { uploadId = mask } } },
          { "body", "image", "mask" } },
      }) do
        local r = emu:api("POST", case[1], { json = case[2] })
        assert.are.equal(422, r.status, r.body)
        assert.are.equal("validation_error", r.json.error_code)
        local e = r.json.validation_errors[1]
        assert.are.same(case[3], e.loc)
        assert.are.equal("value_error.mask.size", e.type)
        assert.truthy(e.msg:find("40x30", 1, true) and e.msg:find("64x48", 1, true), e.msg)
      end
      -- The same mask at the image's size passes.
      local ok = emu:api("POST", "/v3/images/fill-async", { json = { image = { source = { uploadId = image } },
        mask = { source = { uploadId = upload_id(emu, "mask.png") } } } })
      assert.are.equal(202, ok.status, ok.body)
    end)

    it("generate-object-composite-async echoes contentClass", function()
      local id = upload_id(emu)
      local res = submit("/v3/images/generate-object-composite-async", { image = { source = { uploadId = id } },
        prompt = "on a marble table", contentClass = "art", size = { width = 40, height = 40 } })
      assert.are.equal("art", res.contentClass)
      assert.are.same({ width = 40, height = 40 }, res.size)
    end)

    it("validates each operation's body with 422", function()
      local r = emu:api("POST", "/v3/images/fill-async", { json = { prompt = "no image" } })
      assert.are.equal(422, r.status)
      assert.are.equal("validation_error", r.json.error_code)
      r = emu:api("POST", "/v3/images/expand-async", { json = { image = { source = { uploadId = upload_id(emu) } } },
        headers = { ["x-model-version"] = "image4_ultra" } })
      assert.are.equal(422, r.status, r.body)
      assert.are.same({ "header", "x-model-version" }, r.json.validation_errors[1].loc)
    end)

    it("answers 415 for a non-JSON body and 400 for an empty one", function()
      local r = emu:api("POST", "/v3/images/expand-async", { body = "x=1",
        headers = { ["Content-Type"] = "application/x-www-form-urlencoded" } })
      assert.are.equal(415, r.status)
      assert.are.equal("invalid_content_type", r.json.error_code)
      r = emu:api("POST", "/v3/images/generate-object-composite-async", { body = "",
        headers = { ["Content-Type"] = "application/json" } })
      assert.are.equal(400, r.status)
      assert.are.equal("empty_input_body", r.json.error_code)
    end)
  end)

  -- The paths of Adobe's 2026 document: Image 5, upscale, the composites,
  -- and the content-policy answers. Pictures are made and read with ImageMagick.
  describe("2026 operations", function()
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    local function magick(args) assert(os.execute("convert " .. args .. " 2>/dev/null")) end
    local function pixel(path, x, y)
      local p = io.popen(("convert %s -format '%%[pixel:p{%d,%d}]' info:"):format(path, x, y))
      local v = p:read("*a")
      p:close()
      return v
    end
    local function picture(name, args)
      local path = dir .. "/" .. name .. ".png"
      magick(args .. " PNG24:" .. path)
      local r = upload(emu, slurp(path))
      assert.are.equal(200, r.status, r.body)
      return path, r.json.images[1].id
    end
    local function save(url, name)
      local path = dir .. "/" .. name .. ".png"
      local f = assert(io.open(path, "wb"))
      f:write(fetch(emu, url).body)
      f:close()
      return path
    end

    it("Image 5 answers 200 with links, and its result is JobResult at aspectRatio and resolutionLevel", function()
      local r = emu:api("POST", "/v4/images/generate-async", { headers = { ["x-model-version"] = "image5" },
        json = { prompt = "a harbour", aspectRatio = "16:9", resolutionLevel = "1MP", seeds = { 9 } } })
      assert.are.equal(200, r.status, r.body)
      assert.are.same({ "cancel", "result" }, (function()
        local k = {}
        for name in pairs(r.json.links) do k[#k + 1] = name end
        table.sort(k)
        return k
      end)())
      assert.are.equal(0, r.json.progress)
      local doc = poll(emu, r.json.links.result.href)
      assert.are.equal("succeeded", doc.status)
      assert.is_nil(doc.result.size) -- JobResult: outputs only
      assert.are.equal(9, doc.result.outputs[1].seed)
      local w, h = png_size(fetch(emu, doc.result.outputs[1].image.url).body)
      assert.is_true(w > h and math.abs(w * h - 1e6) < 0.05e6, w .. "x" .. h)
    end)

    it("Image 5 validates its body and needs x-model-version image5", function()
      local r = emu:api("POST", "/v4/images/generate-async", { headers = { ["x-model-version"] = "image5" },
        json = { prompt = "x", numVariations = 2 } })
      assert.are.equal(422, r.status, r.body)
      r = emu:api("POST", "/v4/images/generate-async", { json = { prompt = "x" } })
      assert.are.equal(422, r.status, r.body)
      assert.are.same({ "header", "x-model-version" }, r.json.validation_errors[1].loc)
    end)

    it("answers 451 ContentPolicyErrorResponse for a prompt word on Image 5", function()
      local r = emu:api("POST", "/v4/images/generate-async", { headers = { ["x-model-version"] = "image5" },
        json = { prompt = "a riot [emulator:unsafe]" } })
      assert.are.equal(451, r.status, r.body)
      assert.are.same({ error_code = "prompt_unsafe", message = "The prompt was flagged as unsafe." }, r.json)
      r = emu:api("POST", "/v4/images/generate-async", { headers = { ["x-model-version"] = "image5" },
        json = { prompt = "a brand [emulator:entity]" } })
      assert.are.equal("prompt_entity_denied", r.json.error_code)
    end)

    it("upscale answers 202 with links; its outputs are the input enlarged by the factor", function()
      local src, id = picture("src", "-size 20x10 gradient:red-blue -fill yellow -draw 'rectangle 3,2 7,5'")
      local r = emu:api("POST", "/v3/images/upscale", { json = { image = { source = { uploadId = id } },
        seeds = { 4, 5 }, upscaleFactor = 3 } })
      assert.are.equal(202, r.status, r.body)
      assert.is_string(r.json.links.result.href)
      assert.is_string(r.json.links.cancel.href)
      local doc = poll(emu, r.json.links.result.href)
      assert.are.equal("succeeded", doc.status)
      assert.are.equal("precise_upsampler_v1", doc.result.version)
      assert.are.equal(2, #doc.result.outputs)
      local o = doc.result.outputs[1]
      assert.matches(UUID4, o.id)
      assert.is_string(o.name)
      assert.is_nil(o.seed) -- PreciseUpsamplerResponse has no seed: it must not read as JobResult
      local big = save(o.presignedUrl, "big")
      assert.are.same({ 60, 30 }, { png_size(slurp(big)) })
      for _, p in ipairs({ { 0, 0 }, { 5, 3 }, { 19, 9 }, { 12, 6 } }) do
        assert.are.equal(pixel(src, p[1], p[2]), pixel(big, 3 * p[1] + 1, 3 * p[2] + 1))
      end
    end)

    it("upscale takes the factor's default of 2 and refuses an output past 8192 pixels a side", function()
      local _, id = picture("small", "-size 8x6 xc:green")
      local doc = poll(emu, emu:api("POST", "/v3/images/upscale", { json = { image = { source = { uploadId = id } },
        seeds = { 1 } } }).json.links.result.href)
      assert.are.same({ 16, 12 }, { png_size(fetch(emu, doc.result.outputs[1].presignedUrl).body) })
      local _, wide = picture("wide", "-size 2000x4 xc:green")
      local r = emu:api("POST", "/v3/images/upscale", { json = { image = { source = { uploadId = wide } },
        seeds = { 1 }, upscaleFactor = 6 } })
      assert.are.equal(422, r.status, r.body)
      assert.are.same({ "body", "upscaleFactor" }, r.json.validation_errors[1].loc)
    end)

    it("precise-composite places the object inside the background's mask", function()
      local _, bg = picture("bg", "-size 64x48 xc:red")
      local _, mask = picture("mask", "-size 64x48 xc:black -fill white -draw 'rectangle 16,12 47,35'")
      local _, obj = picture("obj", "-size 32x24 xc:blue")
      local r = emu:api("POST", "/v3/images/precise-composite", { json = {
        background = { image = { source = { uploadId = bg } }, fillAreaMask = { source = { uploadId = mask } } },
        object = { image = { source = { uploadId = obj } } }, seeds = { 1, 2 }, blend = 0.3 } })
      assert.are.equal(202, r.status, r.body)
      assert.is_string(r.json.statusUrl)
      local doc = poll(emu, r.json.statusUrl)
      assert.are.equal(2, #doc.result.outputs)
      local out = save(doc.result.outputs[1].image.url, "precise")
      assert.are.same({ 64, 48 }, { png_size(slurp(out)) })
      assert.are.equal(pixel(dir .. "/obj.png", 0, 0), pixel(out, 32, 24)) -- inside the mask: the object
      assert.are.equal(pixel(dir .. "/bg.png", 0, 0), pixel(out, 2, 2))   -- outside: the background
      assert.are.equal(pixel(dir .. "/bg.png", 0, 0), pixel(out, 60, 40))
    end)

    it("adaptive-composite also cuts the object by its own mask", function()
      local _, bg = picture("bg2", "-size 64x48 xc:red")
      local _, mask = picture("mask2", "-size 64x48 xc:black -fill white -draw 'rectangle 16,12 47,35'")
      local _, obj = picture("obj2", "-size 32x24 xc:blue")
      local _, omask = picture("omask2", "-size 32x24 xc:black -fill white -draw 'rectangle 16,0 31,23'")
      local r = emu:api("POST", "/v3/images/adaptive-composite", { json = {
        background = { image = { source = { uploadId = bg } }, fillAreaMask = { source = { uploadId = mask } } },
        object = { image = { source = { uploadId = obj } }, mask = { source = { uploadId = omask } } },
        harmonization = 0.2 } })
      assert.are.equal(202, r.status, r.body)
      local out = save(poll(emu, r.json.statusUrl).result.outputs[1].image.url, "adaptive")
      assert.are.equal(pixel(dir .. "/obj2.png", 0, 0), pixel(out, 40, 24)) -- the object's kept half
      assert.are.equal(pixel(dir .. "/bg2.png", 0, 0), pixel(out, 20, 24)) -- its masked-out half
    end)

    it("answers 451 for an input marked unsafe and 422 cai_assertion_violation_error for one marked cai", function()
      local hero = fixture("hero.png")
      local r = upload(emu, hero .. "[emulator:unsafe]")
      assert.are.equal(451, r.status, r.body)
      assert.are.equal("image_unsafe", r.json.error_code)
      local cai = upload(emu, hero .. "[emulator:cai]").json.images[1].id
      local bg, mask = upload_id(emu), upload_id(emu)
      r = emu:api("POST", "/v3/images/precise-composite", { json = {
        background = { image = { source = { uploadId = bg } }, fillAreaMask = { source = { uploadId = mask } } },
        object = { image = { source = { uploadId = cai } } } } })
      assert.are.equal(422, r.status, r.body)
      assert.are.equal("cai_assertion_violation_error", r.json.error_code)
      assert.are.same({ "body", "object", "image", "source" }, r.json.validation_errors[1].loc)
      r = emu:api("POST", "/v3/images/adaptive-composite", { json = {
        background = { image = { source = { uploadId = bg } }, fillAreaMask = { source = { uploadId = mask } } },
        object = { image = { source = { url = "https://example.s3.amazonaws.com/emulator-unsafe.png" } } } } })
      assert.are.equal(451, r.status, r.body)
      assert.are.equal("input_media_unsafe", r.json.error_code)
    end)
  end)

  describe("POST /v3/videos/generate", function()
    it("needs x-model-version, which the document marks required: 422 naming the header", function()
      local r = emu:api("POST", "/v3/videos/generate", { json = { prompt = "waves on a beach" } })
      assert.are.equal(422, r.status, r.body)
      assert.are.equal("validation_error", r.json.error_code)
      assert.are.same({ "header", "x-model-version" }, r.json.validation_errors[1].loc)
      assert.are.equal("field required", r.json.validation_errors[1].msg)
    end)

    it("runs a job whose output is a small MP4", function()
      local r = emu:api("POST", "/v3/videos/generate", { json = { prompt = "waves on a beach",
        sizes = { { width = 64, height = 36 } }, seeds = { 11 } },
        headers = { ["x-model-version"] = "video1_standard" } })
      assert.are.equal(202, r.status, r.body)
      assert.truthy(r.headers["link"])
      local doc = poll(emu, r.json.statusUrl)
      assert.are.equal("succeeded", doc.status)
      assert.are.same({ width = 64, height = 36 }, doc.result.size)
      assert.are.equal(11, doc.result.outputs[1].seed)
      local url = doc.result.outputs[1].video.url
      assert.truthy(url:find("%.mp4%?"))
      local v = fetch(emu, url)
      assert.are.equal("video/mp4", v.headers["content-type"])
      assert.are.equal("ftyp", v.body:sub(5, 8))
      assert.are.equal(v.body, fetch(emu, url).body) -- deterministic
      local probe = io.popen("command -v ffprobe 2>/dev/null"):read("*l")
      if probe and probe ~= "" then
        local path = os.tmpname()
        local f = io.open(path, "wb")
        f:write(v.body)
        f:close()
        local out = io.popen("ffprobe -v error -show_entries stream=codec_type,width,height,nb_frames "
          .. "-show_entries format=duration -of default=nw=1 " .. path .. " 2>&1"):read("*a")
        os.remove(path)
        assert.truthy(out:find("codec_type=video", 1, true), out)
        assert.truthy(out:find("width=64", 1, true), out)
        assert.truthy(out:find("height=36", 1, true), out)
        assert.truthy(out:find("duration=5", 1, true), out)
      end
    end)

    it("takes JSON only", function()
      local r = emu:api("POST", "/v3/videos/generate", { body = "prompt=waves",
        headers = { ["Content-Type"] = "multipart/form-data; boundary=x" } })
      assert.are.equal(415, r.status)
      assert.are.equal("invalid_content_type", r.json.error_code)
    end)

    it("validates the body", function()
      local r = emu:api("POST", "/v3/videos/generate", { json = { prompt = "waves", bitRateFactor = 99 },
        headers = { ["x-model-version"] = "video1_standard" } })
      assert.are.equal(422, r.status)
      assert.are.same({ "body", "bitRateFactor" }, r.json.validation_errors[1].loc)
    end)
  end)

  describe("deprecated sync v3 paths", function()
    it("answer 200 with the result itself", function()
      local id = upload_id(emu)
      local cases = {
        { "/v3/images/generate", { prompt = "a lantern", size = { width = 24, height = 24 } }, 24, 24 },
        { "/v3/images/generate-similar", { image = { source = { uploadId = id } }, size = { width = 20, height = 16 } },
          20, 16 },
        { "/v3/images/expand", { image = { source = { uploadId = id } }, size = { width = 80, height = 60 } }, 80, 60 },
        { "/v3/images/fill",
          { image = { source = { uploadId = id }, mask = { uploadId = upload_id(emu, "mask.png") } } }, 64, 48 },
        { "/v3/images/generate-object-composite", { image = { source = { uploadId = id } }, prompt = "on sand",
          size = { width = 30, height = 30 } }, 30, 30 },
      }
      for _, c in ipairs(cases) do
        local r = emu:api("POST", c[1], { json = c[2] })
        assert.are.equal(200, r.status, c[1] .. ": " .. r.body)
        assert.are.same({ width = c[3], height = c[4] }, r.json.size, c[1])
        assert.are.same({ c[3], c[4] }, { png_size(fetch(emu, r.json.outputs[1].image.url).body) }, c[1])
      end
    end)

    it("answer an empty body with 400 bad_request, their enum's code", function()
      local r = emu:api("POST", "/v3/images/generate",
        { headers = { ["Content-Type"] = "application/json" }, body = "" })
      assert.are.equal(400, r.status)
      assert.are.equal("bad_request", r.json.error_code)
    end)

    it("say they are deprecated in a Deprecation header, refusals included", function()
      local ok = emu:api("POST", "/v3/images/generate",
        { json = { prompt = "a lamp", size = { width = 8, height = 8 } } })
      assert.are.equal(200, ok.status)
      assert.are.equal("@1759449600", ok.headers["deprecation"])
      local refused = emu:request("POST", "/v3/images/expand", { json = { prompt = "x" } })
      assert.are.equal(403, refused.status) -- no x-api-key: the gateway's 403000
      assert.are.equal("@1759449600", refused.headers["deprecation"])
      local async = emu:api("POST", "/v3/images/generate-async", { json = { prompt = "a lamp" } })
      assert.is_nil(async.headers["deprecation"])
    end)

    it("validate against the sync schemas and answer unsafe prompts with 422 prompt_unsafe", function()
      local r = emu:api("POST", "/v3/images/generate", { json = { prompt = "x", numVariations = 9 } })
      assert.are.equal(422, r.status)
      assert.are.equal("validation_error", r.json.error_code)
      r = emu:api("POST", "/v3/images/generate", { json = { prompt = "a storm [emulator:unsafe]" } })
      assert.are.equal(422, r.status)
      assert.are.equal("prompt_unsafe", r.json.error_code)
    end)
  end)

  describe("GET /v3/custom-models", function()
    local function names(doc)
      local t = {}
      for i, m in ipairs(doc.custom_models) do t[i] = m.displayName end
      return t
    end

    it("lists the published models by modifiedDate, in Adobe's shape", function()
      local r = emu:api("GET", "/v3/custom-models")
      assert.are.equal(200, r.status, r.body)
      assert.are.equal(3, r.json.total_count)
      local m = r.json.custom_models[1]
      for _, k in ipairs({ "version", "assetName", "size", "etag", "trainingMode", "assetId", "mediaType",
        "createdDate", "modifiedDate", "publishedState", "baseModel", "samplePrompt", "displayName", "conceptId" }) do
        assert.is_not_nil(m[k], k)
      end
      assert.truthy(m.assetId:match("^urn:aaid:sc:"))
      assert.is_true(r.json._links.page.templated)
      for i = 2, #r.json.custom_models do
        assert.is_true(r.json.custom_models[i - 1].modifiedDate <= r.json.custom_models[i].modifiedDate)
      end
    end)

    it("sorts descending with a '-' prefix and filters by publishedState", function()
      local r = emu:api("GET", "/v3/custom-models?sortBy=-assetName&publishedState=all")
      assert.are.equal(8, r.json.total_count)
      local n = names(r.json)
      local sorted = {}
      for i, v in ipairs(n) do sorted[i] = v end
      table.sort(sorted, function(a, b) return a > b end)
      assert.are.same(sorted, n)
      r = emu:api("GET", "/v3/custom-models?publishedState=training")
      assert.are.same({ "Hero Character" }, names(r.json))
      r = emu:api("GET", "/v3/custom-models?publishedState=unpublished")
      assert.are.same({ "Pastel Product Shots" }, names(r.json))
    end)

    it("pages with start and limit and links the next page", function()
      local r = emu:api("GET", "/v3/custom-models?publishedState=all&start=0&limit=3&sortBy=createdDate")
      assert.are.equal(3, #r.json.custom_models)
      assert.are.equal(8, r.json.total_count)
      assert.truthy(r.json._links.next.href:find("start=3", 1, true))
      local last = emu:api("GET", "/v3/custom-models?publishedState=all&start=6&limit=3")
      assert.are.equal(2, #last.json.custom_models)
      assert.is_nil(last.json._links.next)
      local empty = emu:api("GET", "/v3/custom-models?publishedState=all&start=20&limit=3")
      assert.truthy(empty.body:find('"custom_models":[]', 1, true))
    end)

    it("refuses bad queries with 400 in the reason/message family", function()
      for _, q in ipairs({ "sortBy=size", "publishedState=draft", "start=0&limit=51", "start=-1", "limit=5" }) do
        local r = emu:api("GET", "/v3/custom-models?" .. q)
        assert.are.equal(400, r.status, q)
        assert.are.equal("Bad Request", r.json.reason, q)
        assert.is_string(r.json.message)
      end
    end)

    it("reads a percent-encoded NUL in a query value as part of the value", function()
      -- Cut at %00 these would be 'all' and '3', both accepted.
      for _, q in ipairs({ "publishedState=all%00x", "start=0&limit=3%00" }) do
        local r = emu:api("GET", "/v3/custom-models?" .. q)
        assert.are.equal(400, r.status, q)
        assert.are.equal("Bad Request", r.json.reason, q)
      end
    end)

    it("answers gateway refusals in its own family", function()
      local r = emu:request("GET", "/v3/custom-models", { headers = { ["x-api-key"] = emu.client_id } })
      assert.are.equal(401, r.status)
      assert.are.same({ reason = "Unauthorized", message = "Authorization Token is not accepted." }, r.json)
      r = emu:request("GET", "/v3/custom-models")
      assert.are.equal(403, r.status)
      assert.are.equal("Forbidden", r.json.reason)
    end)
  end)
end)

describe("--rate-limit", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.2, extra = { ["rate-limit"] = 2 } } end)
  teardown(function() emu:stop() end)

  it("answers 429 past N requests a minute per API key, in each path's error family", function()
    local first = emu:api("POST", "/v3/images/generate-async",
      { json = { prompt = "one", size = { width = 8, height = 8 } } })
    assert.are.equal(202, first.status)
    -- Polls do not count.
    for _ = 1, 3 do assert.are.equal(200, emu:api("GET", first.json.statusUrl).status) end
    assert.are.equal(200, upload(emu, fixture("hero.png")).status)
    local r = emu:api("POST", "/v3/images/generate-async", { json = { prompt = "three" } })
    assert.are.equal(429, r.status)
    assert.are.same({ error_code = "rate_limited" }, r.json)
    assert.are.equal("org", r.headers["x-access-rate-limit-level"])
    local wait = tonumber(r.headers["retry-after"])
    assert.is_true(wait >= 1 and wait <= 60)
    r = upload(emu, fixture("hero.png"))
    assert.are.equal(429, r.status)
    assert.are.same({ message = "Too Many Requests", error_code = "10011" }, r.json)
    r = emu:api("POST", "/v3/videos/generate", { json = { prompt = "x" } })
    assert.are.equal(429, r.status)
    assert.are.equal("backpressure_limited", r.json.error_code)
    assert.are.equal(200, emu:api("GET", first.json.statusUrl).status)
  end)
end)
