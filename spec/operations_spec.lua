-- Every Firefly operation through the client against the emulator: the happy
-- path, one refused input per validation rule (with the emulator's log showing
-- nothing was sent), and Adobe's documented errors surfaced with code and
-- request id. Also ff:upload_image, local file inputs, and custom models.
local firefly = require "firefly"
local helper = require "helpers.emulator"

local HERO, MASK = "spec/fixtures/hero.png", "spec/fixtures/mask.png"

local function client_for(emu, extra)
  local o = { client_id = emu.client_id, client_secret = emu.client_secret, api_url = emu.url,
    ims_url = emu.url, poll_interval = 0.1 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return firefly.new(o)
end

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

describe("operations", function()
  local emu, ff
  setup(function()
    emu = helper.start { job_seconds = 0.3 }
    ff = client_for(emu)
  end)
  teardown(function()
    ff:close()
    emu:stop()
  end)

  -- Runs fn and checks that it sent no request matching `pattern`.
  local function sends_nothing(method, pattern, fn)
    local before = emu:count(method, pattern)
    local a, b = fn()
    assert.are.equal(before, emu:count(method, pattern), "a request was sent")
    return a, b
  end

  local function refused(err, needle)
    assert.is_table(err)
    assert.are.equal("validation", err.kind)
    if needle then assert.truthy(tostring(err):find(needle, 1, true), tostring(err)) end
  end

  describe("happy paths", function()
    it("generate_images", function()
      local r = assert(ff:generate_images { prompt = "a fox", size = { width = 16, height = 16 } })
      assert.are.same({ 16, 16 }, png_size(assert(r.outputs[1]:bytes())))
    end)

    it("upload_image takes a path or bytes and returns the id and a table", function()
      local id, info = ff:upload_image(HERO)
      assert.truthy(id:match("^%x+%-%x+%-4%x+%-%x+%-%x+$"))
      assert.are.equal(id, info.id)
      assert.is_string(info.request_id)
      local id2 = assert(ff:upload_image(helper.slurp("spec/fixtures/small.webp")))
      assert.are_not.equal(id, id2)
    end)

    it("generate_similar_images from an upload id", function()
      local id = assert(ff:upload_image(HERO))
      local r = assert(ff:generate_similar_images({ image = { source = { uploadId = id } }, numVariations = 2,
        size = { width = 24, height = 16 } }, { model_version = "image4_standard" }))
      assert.are.equal(2, #r.outputs)
      assert.are.same({ width = 24, height = 16 }, r.size)
    end)

    it("expand_image from a local file, at the target size", function()
      local r = assert(ff:expand_image { image = { source = { path = HERO } }, size = { width = 96, height = 64 } })
      assert.are.same({ 96, 64 }, png_size(assert(r.outputs[1]:bytes())))
    end)

    it("fill_image from local files, at the input's size", function()
      local r = assert(ff:fill_image { image = { source = { path = HERO } }, mask = { source = { path = MASK } },
        prompt = "a kite" })
      assert.are.same({ width = 64, height = 48 }, r.size)
    end)

    it("generate_object_composite", function()
      local r = assert(ff:generate_object_composite { image = { source = { path = HERO } }, prompt = "on a shelf",
        contentClass = "photo", size = { width = 32, height = 32 } })
      assert.are.equal("photo", r.contentClass)
    end)

    it("generate_video, whose output saves as an MP4", function()
      local r = assert(ff:generate_video({ prompt = "rain", sizes = { { width = 32, height = 18 } } },
        { model_version = "video1_standard" }))
      local out = r.outputs[1]
      assert.is_string(out.video.url)
      local bytes = assert(out:bytes())
      assert.are.equal("ftyp", bytes:sub(5, 8))
    end)

    it("list_custom_models gives one page; custom_models iterates over all", function()
      local page = assert(ff:list_custom_models { publishedState = "all", limit = 3, sortBy = "createdDate" })
      assert.are.equal(3, #page.custom_models)
      assert.are.equal(8, page.total_count)
      assert.is_string(page.request_id)
      local before = emu:count("GET", "^/v3/custom%-models")
      local names = {}
      for m in ff:custom_models { publishedState = "all", limit = 3 } do names[#names + 1] = m.displayName end
      assert.are.equal(8, #names)
      assert.are.equal(3, emu:count("GET", "^/v3/custom%-models") - before)
    end)
  end)

  describe("local file inputs", function()
    it("upload each file content once per client", function()
      local copy = tmpfile(helper.slurp(HERO)) -- same bytes, another name
      local before = emu:count("POST", "^/v2/storage/image$")
      assert(ff:generate_similar_images { image = { source = { path = HERO } }, size = { width = 8, height = 8 } })
      assert(ff:generate_similar_images { image = { source = { path = copy } }, size = { width = 8, height = 8 } })
      assert(ff:fill_image { image = { source = { path = HERO } }, mask = { source = { path = MASK } } })
      os.remove(copy)
      local uploads = emu:count("POST", "^/v2/storage/image$") - before
      assert.is_true(uploads <= 2, "uploads: " .. uploads) -- HERO once (unless cached earlier), MASK once
    end)
  end)

  describe("validation, before anything is sent", function()
    it("upload_image refuses what is not an image type Firefly's upload takes", function()
      local path = tmpfile("GIF89a not really")
      local _, err = sends_nothing("POST", "^/v2/storage", function() return ff:upload_image(path) end)
      os.remove(path)
      refused(err, "not a JPEG, PNG")
    end)

    it("upload_image refuses more than 15 MB", function()
      local big = helper.slurp(HERO) .. string.rep("\0", 15 * 1024 * 1024)
      local _, err = sends_nothing("POST", "^/v2/storage", function() return ff:upload_image(big) end)
      refused(err, "15 MB")
    end)

    it("upload_image refuses a file that cannot be read", function()
      local _, err = sends_nothing("POST", "^/v2/storage", function() return ff:upload_image("no/such/file.png") end)
      refused(err, "no/such/file.png")
    end)

    it("a path source that cannot be read, or is not an image, sends nothing", function()
      local _, err = sends_nothing("POST", "^/v", function()
        return ff:expand_image { image = { source = { path = "no/such.png" } } }
      end)
      refused(err, "no/such.png")
      local path = tmpfile("plain text")
      _, err = sends_nothing("POST", "^/v", function()
        return ff:fill_image { image = { source = { path = HERO } }, mask = { source = { path = path } } }
      end)
      os.remove(path)
      refused(err, "not a JPEG, PNG")
    end)

    it("a body with a path source is validated before the upload", function()
      local _, err = sends_nothing("POST", "^/v", function()
        return ff:expand_image { image = { source = { path = HERO } }, numVariations = 9 }
      end)
      refused(err, "body.numVariations")
    end)

    it("a path source takes nothing else", function()
      local _, err = sends_nothing("POST", "^/v", function()
        return ff:expand_image { image = { source = { path = HERO, url = "https://x.amazonaws.com/a.png" } } }
      end)
      refused(err, "path")
    end)

    it("model_version only where Adobe declares x-model-version", function()
      for _, case in ipairs({
        { "expand_image", { image = { source = { uploadId = "00000000-0000-4000-8000-000000000000" } } } },
        { "fill_image", { image = { source = { uploadId = "00000000-0000-4000-8000-000000000000" } },
          mask = { source = { uploadId = "00000000-0000-4000-8000-000000000000" } } } },
        { "generate_object_composite",
          { prompt = "x", image = { source = { uploadId = "00000000-0000-4000-8000-000000000000" } } } },
      }) do
        local _, err = sends_nothing("POST", "^/v3/", function()
          return ff[case[1]](ff, case[2], { model_version = "image3" })
        end)
        refused(err, "x-model-version")
      end
      local _, err = sends_nothing("POST", "^/v3/", function()
        return ff:generate_video({ prompt = "x" }, { model_version = "image3" })
      end)
      refused(err, "x-model-version")
    end)

    it("each operation's own body rules", function()
      local id = "00000000-0000-4000-8000-000000000000"
      local cases = {
        { "generate_similar_images", { numVariations = 2 }, "body.image" },
        { "expand_image", { image = { source = { uploadId = id } }, placement = { alignment = { horizontal = "left" } },
          mask = { source = { uploadId = id } } }, "placement cannot be used together with a mask" },
        { "fill_image", { image = { source = { uploadId = id } } }, "body.mask" },
        { "generate_object_composite", { image = { source = { uploadId = id } } }, "body.prompt" },
        { "generate_video", { prompt = "x", bitRateFactor = 64 }, "body.bitRateFactor" },
        { "generate_video", { prompt = "x", seeds = { 1, 2 } }, "body.seeds" },
      }
      for _, c in ipairs(cases) do
        local _, err = sends_nothing("POST", "^/v3/", function() return ff[c[1]](ff, c[2]) end)
        refused(err, c[3])
      end
    end)

    it("list_custom_models checks its query", function()
      for _, q in ipairs({ { sortBy = "size" }, { limit = 51 }, { limit = 0 }, { start = -1 },
        { publishedState = "draft" }, { page = 2 } }) do
        local _, err = sends_nothing("GET", "^/v3/custom%-models", function() return ff:list_custom_models(q) end)
        refused(err, "query.")
      end
      local ok, err = pcall(function() for _ in ff:custom_models { limit = 99 } do end end)
      assert.is_false(ok)
      refused(err, "query.limit")
    end)

    it("list_custom_models follows the document's sortBy enum, which has no '-' reversed form", function()
      local _, err = sends_nothing("GET", "^/v3/custom%-models", function()
        return ff:list_custom_models { sortBy = "-modifiedDate" }
      end)
      refused(err, "query.sortBy")
      assert.truthy(err.message:find("prose", 1, true))
      local warned = {}
      local lenient = client_for(emu, { on_warning = function(t) warned[#warned + 1] = t end })
      local before = emu:count("GET", "^/v3/custom%-models")
      assert(lenient:list_custom_models({ sortBy = "-modifiedDate" }, { validate = "warn" }))
      lenient:close()
      assert.are.equal(before + 1, emu:count("GET", "^/v3/custom%-models"))
      assert.are.equal(1, #warned)
    end)

    it("list_custom_models sends an unchecked query value percent-encoded, '&' and a NUL byte included", function()
      local before = emu:count("GET", "^/v3/custom%-models")
      -- Sent raw, '&limit=1' would be a second parameter (and the server would ask for start).
      local page, err = ff:list_custom_models({ publishedState = "all&limit=1" }, { validate = "off" })
      assert.is_nil(page)
      assert.truthy(tostring(err):find("publishedState must be one of", 1, true), tostring(err))
      -- Not a raise from the core ("url contains a NUL byte"): sent as %00, the server's to judge.
      assert(pcall(ff.list_custom_models, ff, { publishedState = "all\0x" }, { validate = "off" }))
      assert.are.equal(before + 2, emu:count("GET", "^/v3/custom%-models"))
    end)

    it("misuse raises", function()
      assert.has_error(function() ff:upload_image(42) end)
      assert.has_error(function() ff:list_custom_models("all") end)
    end)
  end)

  describe("Adobe's errors, with code and request id", function()
    it("an unknown or expired upload id: 422 validation_error naming the field", function()
      local _, err = ff:expand_image { image = { source = { uploadId = "00000000-0000-4000-8000-000000000000" } } }
      assert.are.equal("validation", err.kind) -- the server's 422, with its status
      assert.are.equal(422, err.status)
      assert.are.equal("validation_error", err.code)
      assert.is_string(err.request_id)
      assert.are.same({ "body", "image", "source", "uploadId" }, err.details[1].loc)
    end)

    it("a failed job: job_failed with Adobe's error_code", function()
      local _, err = ff:fill_image { image = { source = { path = HERO } }, mask = { source = { path = MASK } },
        prompt = "a vase [emulator:fail]" }
      assert.are.equal("job_failed", err.kind)
      assert.are.equal("runtime_error", err.code)
      assert.is_string(err.job_id)
    end)
  end)
end)

describe("operations over the rate limit", function()
  local emu, ff
  setup(function()
    emu = helper.start { job_seconds = 0.2, extra = { ["rate-limit"] = 1 } }
    ff = client_for(emu, { max_retries = 0 })
  end)
  teardown(function()
    ff:close()
    emu:stop()
  end)

  it("surface each path's 429 with its code, retry_after and request id", function()
    assert(ff:upload_image(HERO)) -- spends the one request of this minute
    local _, err = ff:upload_image(HERO)
    assert.are.equal(429, err.status)
    assert.are.equal("10011", err.code)
    assert.is_string(err.request_id)
    _, err = ff:list_custom_models()
    assert.are.equal(429, err.status)
    assert.are.equal("Too Many Requests", err.code)
    _, err = ff:generate_video { prompt = "x" }
    assert.are.equal(429, err.status)
    assert.are.equal("backpressure_limited", err.code)
    assert.is_string(err.request_id)
  end)
end)
