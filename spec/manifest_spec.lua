-- The provenance manifest (issue 4): one JSON line per saved output.
local helper = require "helpers.emulator"
local firefly = require "firefly"
local core = require "firefly.core"
local cjson = require "cjson"

describe("manifest", function()
  local emu, dir

  before_each(function()
    emu = helper.start { job_seconds = 0.2 }
    local p = io.popen("mktemp -d"); dir = p:read("*l"); p:close()
  end)
  after_each(function()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("records what made each saved output, and its sha256", function()
    local ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
                             api_url = emu.url, ims_url = emu.url, manifest = dir .. "/manifest.jsonl" }
    local r = assert(ff:generate_images({ prompt = "a lighthouse", seeds = { 5, 6 }, numVariations = 2,
      size = { width = 16, height = 16 } }, { model_version = "image4_standard" }))
    assert(r.outputs[1]:save(dir .. "/a.png"))
    assert(r.outputs[2]:save(dir .. "/b.png"))
    local entries = {}
    for line in helper.slurp(dir .. "/manifest.jsonl"):gmatch("[^\n]+") do
      entries[#entries + 1] = cjson.decode(line)
    end
    assert.are.equal(2, #entries)
    local e = entries[2]
    assert.are.equal("generate_images", e.operation)
    assert.are.equal("a lighthouse", e.prompt)
    assert.are.equal(6, e.seed)
    assert.are.equal("image4_standard", e.model_version)
    assert.are.equal(r.job_id, e.job_id)
    assert.is_string(e.request_id)
    assert.are.equal(dir .. "/b.png", e.path)
    assert.are.equal(core.sha256(helper.slurp(dir .. "/b.png")), e.sha256)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", e.time)
    ff:close()
  end)

  describe("core.sha256", function()
    it("matches the FIPS 180-4 test vectors", function()
      assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", core.sha256(""))
      assert.are.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", core.sha256("abc"))
      assert.are.equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        core.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
    end)

    it("hashes a file without reading it into Lua, and says why it cannot", function()
      local f = assert(io.open(dir .. "/x", "wb")); f:write(("z"):rep(200000)); f:close()
      assert.are.equal(core.sha256(("z"):rep(200000)), core.sha256_file(dir .. "/x"))
      local ok, err = core.sha256_file(dir .. "/missing")
      assert.is_nil(ok)
      assert.matches("missing", err)
    end)
  end)
end)
