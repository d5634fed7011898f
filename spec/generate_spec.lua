-- generate_images end to end: a prompt in, saved images out, against a real
-- emulator process over real sockets.
local helper = require "helpers.emulator"

local function png_size(bytes)
  assert(bytes:sub(1, 8) == "\137PNG\r\n\26\n", "not a PNG")
  local function u32(i)
    local a, b, c, d = bytes:byte(i, i + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  return u32(17), u32(21)
end

describe("generate_images", function()
  local emu, ff, dir

  setup(function()
    emu = helper.start { job_seconds = 0.5 }
    ff = emu:client()
    dir = helper.tmpdir()
  end)

  teardown(function()
    ff:close()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("returns a result shaped like Adobe's, with one output per variation", function()
    local r = assert(ff:generate_images { prompt = "a realistic illustration of a cat coding",
                                          numVariations = 3, size = { width = 96, height = 64 } })
    assert.are.equal(96, r.size.width)
    assert.are.equal(64, r.size.height)
    assert.are.equal(3, #r.outputs)
    for _, out in ipairs(r.outputs) do
      assert.is_number(out.seed)
      assert.truthy(out.image.url:match("^http://"))
    end
    assert.truthy(r.job_id:match("^urn:ff:jobs:"))
  end)

  it("saves each output as a real PNG of the requested size, leaving no temporary file", function()
    local r = assert(ff:generate_images { prompt = "a lighthouse", numVariations = 2,
                                          size = { width = 80, height = 48 } })
    for i, out in ipairs(r.outputs) do
      local path = ("%s/out-%d.png"):format(dir, i)
      assert.are.equal(path, assert(out:save(path)))
      local w, h = png_size(helper.slurp(path))
      assert.are.equal(80, w)
      assert.are.equal(48, h)
    end
    for _, name in ipairs(helper.ls(dir)) do assert.is_nil(name:match("%.part%-")) end
  end)

  it("gives a result's whole numbers as integers where Lua has them: a seed prints as 1234, not 1234.0", function()
    local r = assert(ff:generate_images { prompt = "a red fox", seeds = { 1234 }, size = { width = 32, height = 32 } })
    if math.type then -- Lua 5.3+; 5.1, 5.2 and LuaJIT have one kind of number
      assert.are.equal("integer", math.type(r.outputs[1].seed))
      assert.are.equal("integer", math.type(r.size.width))
    end
    assert.are.equal("1234", tostring(r.outputs[1].seed))
    -- The same walk, on what a server may send: a fraction stays one, and the walk goes only 16 deep.
    local deep = {}
    local t = deep
    for _ = 1, 20 do t.next, t.n = {}, 3.0; t = t.next end
    local got = require("firefly.result").integers { half = 0.5, list = { 2.0, 7.25 }, deep = deep }
    assert.are.equal(0.5, got.half)
    assert.are.equal("7.25", tostring(got.list[2]))
    if math.type then
      assert.are.equal("integer", math.type(got.list[1]))
      assert.are.equal("integer", math.type(got.deep.n))
      local at = got.deep
      for _ = 1, 17 do at = at.next end
      assert.are.equal("float", math.type(at.n)) -- below 16 levels: left as cjson gave it
    end
  end)

  it("gives the same bytes for the same seed, and the bytes match the saved file", function()
    local body = { prompt = "a red fox", seeds = { 1234 }, size = { width = 32, height = 32 } }
    local a = assert(ff:generate_images(body))
    local b = assert(ff:generate_images(body))
    assert.are.equal(1234, a.outputs[1].seed)
    local bytes = assert(a.outputs[1]:bytes())
    assert.are.equal(bytes, assert(b.outputs[1]:bytes()))
    local path = dir .. "/fox.png"
    assert(a.outputs[1]:save(path))
    assert.are.equal(bytes, helper.slurp(path))
  end)

  it("sends the body exactly as Adobe spells it and gets the variations asked for", function()
    local r = assert(ff:generate_images { prompt = "a tree", numVariations = 2, seeds = { 7, 8 },
                                          contentClass = "art", size = { width = 16, height = 16 } })
    assert.are.same({ 7, 8 }, { r.outputs[1].seed, r.outputs[2].seed })
    assert.are.equal("art", r.contentClass)
  end)

  it("reports a save into a missing directory as an io error, not a crash", function()
    local r = assert(ff:generate_images { prompt = "a boat", size = { width = 16, height = 16 } })
    local ok, err = r.outputs[1]:save(dir .. "/no/such/dir/x.png")
    assert.is_nil(ok)
    assert.are.equal("io", err.kind)
    assert.truthy(err.message:find("no/such/dir", 1, true))
  end)

  it("submits once per call: one POST to generate-async per job in the emulator's log", function()
    local before = emu:count("POST", "/v3/images/generate%-async")
    assert(ff:generate_images { prompt = "one submit", size = { width = 16, height = 16 } })
    assert.are.equal(before + 1, emu:count("POST", "/v3/images/generate%-async"))
  end)
end)
