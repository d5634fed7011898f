-- validate = "strict" | "warn" | "off", per client and per call: a stale rule
-- must never strand a user (Adobe changes enums within weeks), and an unknown
-- field (a typo Adobe would ignore) is never passed over in silence.
local helper = require "helpers.emulator"

-- Two rules broken at once: numVariations above 4 and an unknown contentClass.
local BROKEN = { prompt = "a fox", numVariations = 9, contentClass = "painting" }

describe("the validate option", function()
  local emu, warnings
  local function client(extra)
    local o = { poll_interval = 0.1, on_warning = function(text) warnings[#warnings + 1] = text end }
    for k, v in pairs(extra or {}) do o[k] = v end
    return emu:client(o)
  end
  local function submits() return emu:count("POST", "^/v3/images/generate%-async$") end

  setup(function() emu = helper.start { job_seconds = 0.2 } end)
  teardown(function() emu:stop() end)
  before_each(function() warnings = {} end)

  it("refuses a broken rule before sending by default (strict)", function()
    local ff = client()
    local before = submits()
    local r, err = ff:generate_images(BROKEN)
    ff:close()
    assert.is_nil(r)
    assert.are.equal("validation", err.kind)
    assert.is_nil(err.status)
    assert.are.equal(before, submits())
    assert.are.same({}, warnings)
  end)

  it("in warn mode logs every broken rule and sends the body", function()
    local ff = client { validate = "warn" }
    local before = submits()
    local _, err = ff:generate_images(BROKEN)
    ff:close()
    assert.are.equal(before + 1, submits())
    assert.are.equal(422, err.status) -- the emulator judged it: it was sent
    assert.are.equal(2, #warnings)
    local text = table.concat(warnings, "\n")
    assert.truthy(text:find("body.numVariations", 1, true))
    assert.truthy(text:find("body.contentClass", 1, true))
    assert.truthy(warnings[1]:find("sent anyway", 1, true) and warnings[2]:find("sent anyway", 1, true))
  end)

  it("in off mode sends the body as it is, saying nothing", function()
    local ff = client { validate = "off" }
    local before = submits()
    local _, err = ff:generate_images(BROKEN)
    ff:close()
    assert.are.equal(before + 1, submits())
    assert.are.equal(422, err.status)
    assert.are.same({}, warnings)
  end)

  it("takes the call's mode over the client's", function()
    local ff = client { validate = "off" }
    local before = submits()
    local _, err = ff:generate_images(BROKEN, { validate = "strict" })
    local r = ff:generate_images({ prompt = "a fox", numVariations = 9 }, { validate = "warn" })
    ff:close()
    assert.are.equal("validation", err.kind)
    assert.is_nil(err.status)
    assert.is_nil(r)
    assert.are.equal(before + 1, submits())
    assert.are.equal(1, #warnings)
  end)

  it("warns of an unknown field, naming the closest known one, and still sends", function()
    local ff = client()
    local r = assert(ff:generate_images { prompt = "a fox", negativPrompt = "blurry" })
    ff:close()
    assert.are.equal(1, #r.outputs)
    assert.are.equal(1, #warnings)
    assert.truthy(warnings[1]:find("body.negativPrompt", 1, true))
    assert.truthy(warnings[1]:find("did you mean 'negativePrompt'", 1, true))
  end)

  it("warns of unknown fields in the new operations' nested objects too", function()
    local ff = client()
    local _, err = ff:upscale_image { image = { source = { uploadId = "not-a-uuid" } }, seeds = { 1 },
      upscaleFactr = 4 }
    ff:close()
    assert.are.equal("validation", err.kind)
    assert.are.equal(1, #warnings)
    assert.truthy(warnings[1]:find("did you mean 'upscaleFactor'", 1, true))
  end)

  it("raises on a mode it does not know, as misuse", function()
    assert.has_error(function() emu:client { validate = "lenient" } end)
    local ff = client()
    assert.has_error(function() ff:generate_images({ prompt = "x" }, { validate = "loose" }) end)
    ff:close()
  end)
end)
