-- The result cache (issue 4): `cache = dir` answers a seeded request again
-- from disk, with no network call; `cache = false` per call bypasses it.
local helper = require "helpers.emulator"
local firefly = require "firefly"
local cache = require "firefly.cache"

local SIZE = { width = 16, height = 16 }

local tmpdir = helper.tmpdir

describe("cache", function()
  local emu, dir

  before_each(function()
    emu = helper.start { job_seconds = 0.2 }
    dir = tmpdir()
  end)
  after_each(function()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function client()
    return firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
                         api_url = emu.url, ims_url = emu.url, cache = dir .. "/cache" }
  end

  local function submits() return emu:count("POST", "^/v3/images/generate%-async$") end

  it("answers a seeded request again from disk, without a network call", function()
    local ff = client()
    local body = { prompt = "a red fox", seeds = { 7 }, size = SIZE }
    local first = assert(ff:generate_images(body))
    local before = #emu:log()
    local again = assert(ff:generate_images { size = SIZE, seeds = { 7 }, prompt = "a red fox" })
    assert.are.equal(before, #emu:log())
    assert.is_true(again.from_cache)
    assert.are.equal(first.outputs[1].seed, again.outputs[1].seed)
    assert.are.equal(first.job_id, again.job_id)
    -- Outputs point at the cached files: save copies, bytes reads, no download.
    assert.are.equal(dir .. "/a.png", assert(again.outputs[1]:save(dir .. "/a.png")))
    assert.are.equal(helper.slurp(dir .. "/a.png"), assert(again.outputs[1]:bytes()))
    assert.are.equal("\137PNG", helper.slurp(dir .. "/a.png"):sub(1, 4))
    assert.are.equal(before, #emu:log())
    ff:close()
    -- A new client (a new run) finds it too.
    local ff2 = client()
    assert.is_true(assert(ff2:generate_images(body)).from_cache)
    assert.are.equal(1, submits())
    ff2:close()
  end)

  it("saves a cached output with wait = false as an operation the host steps, its copy made off the call", function()
    local ff = client()
    local body = { prompt = "a red fox", seeds = { 7 }, size = SIZE }
    assert(ff:generate_images(body))
    local hit = assert(ff:generate_images(body))
    assert.is_true(hit.from_cache)
    ff:step(0)
    local op = assert(hit.outputs[1]:save(dir .. "/later.png", { wait = false }))
    -- The copy and its fsync are the worker's: the call returned before its end.
    assert.is_false(op.finished)
    assert.are.equal("save", op.kind)
    local done
    while not done do
      for _, ev in ipairs(ff:step(0.05)) do
        if ev.job == op then
          assert.are.equal("done", ev.type, tostring(ev.err))
          done = true
        end
      end
    end
    assert.are.equal(dir .. "/later.png", assert(op:wait()))
    assert.are.equal(assert(hit.outputs[1]:bytes()), helper.slurp(dir .. "/later.png"))
    -- A failing copy (its folder is missing) ends with an io error from a step, and leaves nothing.
    local bad = assert(hit.outputs[1]:save(dir .. "/missing/x.png", { wait = false }))
    local r, err = bad:wait()
    assert.is_nil(r)
    assert.are.equal("io", err.kind)
    assert.is_nil(io.open(dir .. "/missing/x.png"))
    ff:close()
  end)

  it("does not cache a request without seeds (it would not be reproducible)", function()
    local ff = client()
    assert(ff:generate_images { prompt = "a fox", size = SIZE })
    local r = assert(ff:generate_images { prompt = "a fox", size = SIZE })
    assert.is_nil(r.from_cache)
    assert.are.equal(2, submits())
    ff:close()
  end)

  it("misses when anything in the request changes, and cache = false bypasses it", function()
    local ff = client()
    assert(ff:generate_images { prompt = "a fox", seeds = { 1 }, size = SIZE })
    assert(ff:generate_images { prompt = "a fox", seeds = { 2 }, size = SIZE })
    assert(ff:generate_images({ prompt = "a fox", seeds = { 1 }, size = SIZE }, { model_version = "image4_standard" }))
    assert.are.equal(3, submits())
    local r = assert(ff:generate_images({ prompt = "a fox", seeds = { 1 }, size = SIZE }, { cache = false }))
    assert.is_nil(r.from_cache)
    assert.are.equal(4, submits())
    ff:close()
  end)

  it("counts items answered from the cache in ff:map's summary", function()
    local ff = client()
    local prompts = { "one", "two", "three" }
    local function make(p) return ff:generate_images { prompt = p, seeds = { 3 }, size = SIZE } end
    local _, _, first = ff:map(prompts, make)
    assert.are.equal(0, first.cached)
    local _, errs, second = ff:map(prompts, make)
    assert.are.same({}, errs)
    assert.are.equal(3, second.cached)
    assert.are.equal(3, submits())
    ff:close()
  end)

  it("answers a request with a {path} source from disk, by the file's content, before any upload", function()
    local function expand()
      local ff = client()
      local r = assert(ff:expand_image { image = { source = { path = "examples/assets/hero.png" } },
                                          size = { width = 160, height = 96 }, seeds = { 5 } })
      ff:close()
      return r
    end
    assert.is_nil(expand().from_cache)
    -- A new run (a new client, so no upload id remembered) neither uploads nor submits.
    assert.is_true(expand().from_cache)
    assert.are.equal(1, emu:count("POST", "^/v2/storage/image$"))
    assert.are.equal(1, emu:count("POST", "^/v3/images/expand%-async$"))
  end)

  it("hashes a wait = false call's {path} file off the call, then answers from the cache, uploading nothing", function()
    local body = { image = { source = { path = "examples/assets/hero.png" } },
                   size = { width = 160, height = 96 }, seeds = { 5 } }
    local ff = client()
    assert(ff:expand_image(body))
    ff:close()
    local uploads = emu:count("POST", "^/v2/storage/image$")
    ff = client() -- a new run: no upload id remembered, only the cache
    local j = assert(ff:expand_image(body, { wait = false }))
    -- Its identity (the file's sha256) is the worker's to make: no answer yet, from the cache or not.
    assert.is_false(j.finished)
    assert.are.equal("uploading", j.status)
    local done
    while not done do
      for _, ev in ipairs(ff:step(0.05)) do
        if ev.job == j then done = ev end
      end
    end
    assert.are.equal("done", done.type, tostring(done.err))
    assert.is_true(j.from_cache)
    assert.are.equal("succeeded", j.status)
    assert.is_true(j.result.from_cache)
    assert.are.equal(uploads, emu:count("POST", "^/v2/storage/image$"))
    assert.are.equal(1, emu:count("POST", "^/v3/images/expand%-async$"))
    ff:close()
  end)

  describe("the request key", function()
    it("does not depend on the order of keys", function()
      assert.are.equal(
        cache.key("generate_images", nil, { prompt = "x", seeds = { 1 }, size = { width = 1, height = 2 } }),
        cache.key("generate_images", nil, { size = { height = 2, width = 1 }, seeds = { 1 }, prompt = "x" }))
    end)

    it("stands a local input file for its content", function()
      local path = dir .. "/in.png"
      local f = assert(io.open(path, "wb")); f:write("one"); f:close()
      local body = { image = { source = path } }
      local k1 = cache.key("expand_image", nil, body)
      f = assert(io.open(path, "wb")); f:write("two"); f:close()
      assert.are_not.equal(k1, cache.key("expand_image", nil, body))
      assert.matches('"sha256:', cache.canonical(body))
    end)
  end)
end)
