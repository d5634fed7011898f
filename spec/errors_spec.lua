-- Errors as a user meets them: misuse raises; a bad body is refused before
-- any network call, naming the field; the server's and the network's failures
-- come back as `nil, err` with their codes, request ids and readable text.
local helper = require("helpers.emulator")
local firefly = require("firefly")

local SIZE = { width = 64, height = 64 }
local S3 = "https://my-bucket.s3.amazonaws.com/in.jpg?X-Amz-Signature=abc"


local function raises(pattern, fn)
  local ok, msg = pcall(fn)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.matches(pattern, tostring(msg))
end

local tmpdir = helper.tmpdir

local ls = helper.ls

-- A valid generate_images body with fields set or changed.
local function body(fields)
  local b = { prompt = "a cat", size = SIZE }
  for k, v in pairs(fields) do b[k] = v end
  return b
end

describe("misuse", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.3 } end)
  teardown(function() helper.close(emu, ff) end)

  it("raises when the body is not a table", function()
    raises("body must be a table", function() ff:generate_images("a cat") end)
    raises("body must be a table", function() ff:generate_images(nil) end)
  end)

  it("raises firefly.new's refusal of an api_url at the caller's line, in its own words, not the core's", function()
    local ok, msg = pcall(function()
      local c = firefly.new { client_id = "id", access_token = "token", api_url = "http://127.0.0.1.:1" }
      return c -- not a tail call: the position must be this line's
    end)
    assert.is_false(ok)
    assert.matches("errors_spec%.lua:%d+: firefly%.new: api_url must be an https URL", msg)
    assert.is_nil(msg:find("init.lua", 1, true), msg)
    assert.is_nil(msg:find("firefly.core", 1, true), msg)
  end)

  it("raises on an unknown option, naming it", function()
    raises("unknown option 'wiat'", function() ff:generate_images({ prompt = "a cat" }, { wiat = false }) end)
    raises("unknown option 'colour'", function() emu:client({ colour = "red" }) end)
  end)

  it("raises on an option of the wrong type, naming it and the type wanted", function()
    raises("option 'timeout' must be a number, got string",
      function() ff:generate_images({ prompt = "a cat" }, { timeout = "10" }) end)
    raises("option 'on_progress' must be a function",
      function() ff:generate_images({ prompt = "a cat" }, { on_progress = true }) end)
    raises("option 'max_retries' must be a number", function() emu:client({ max_retries = "3" }) end)
  end)

  it("raises on an unknown option in ff:map and upload_image too, as in every call", function()
    raises("ff:map: unknown option 'concurency'", function() ff:map({}, print, { concurency = 2 }) end)
    raises("ff:map: option 'fail_fast' must be a boolean", function() ff:map({}, print, { fail_fast = 1 }) end)
    raises("ff:upload_image: unknown option 'timout'",
      function() ff:upload_image("examples/assets/hero.png", { timout = 5 }) end)
    raises("ff:job: unknown option 'wiat'", function() ff:job("urn:ff:jobs:x", { wiat = false }) end)
  end)

  it("raises on a method called with a dot instead of a colon, saying so", function()
    raises("call it with a colon, ff:generate_images%(...%)", function() ff.generate_images { prompt = "a cat" } end)
    raises("call it with a colon, ff:upload_image", function() ff.upload_image("examples/assets/hero.png") end)
    raises("call it with a colon, ff:map", function() ff.map({}, print) end)
    raises("call it with a colon, ff:step", function() ff.step(0) end)
  end)

  it("raises on a body that contains itself, naming where", function()
    local loop = { prompt = "a cat", size = { width = 16, height = 16 } }
    loop.size.again = loop
    raises("the body contains itself at body.size.again", function() ff:generate_images(loop) end)
    local src = { path = "examples/assets/hero.png" }
    src.self = src
    raises("contains itself at body.image.source.self",
      function() ff:expand_image { image = { source = src } } end)
  end)

  it("raises from firefly.new with no credentials, naming the environment variables", function()
    if os.getenv("FIREFLY_SERVICES_CLIENT_ID") or os.getenv("FIREFLY_SERVICES_ACCESS_TOKEN") then
      return pending("FIREFLY_SERVICES_* credentials are set in this environment")
    end
    local ok, msg = pcall(firefly.new, { api_url = emu.url, ims_url = emu.url })
    assert.is_false(ok)
    assert.matches("FIREFLY_SERVICES_CLIENT_ID", msg)
    assert.matches("FIREFLY_SERVICES_CLIENT_SECRET", msg)
  end)

  it("raises 'closed' when a closed client is used", function()
    local c = emu:client()
    c:close()
    c:close() -- closing twice is fine
    raises("closed", function() c:generate_images { prompt = "a cat", size = SIZE } end)
    raises("closed", function() c:job("urn:ff:jobs:emu851000:00000000-0000-4000-8000-000000000000") end)
    raises("closed", function() c:step(0) end)
  end)

  it("raises 'closed' at the caller's line, and says nil for ff:timeout(): nothing is pending any more", function()
    local c = emu:client()
    c:close()
    for name, call in pairs { step = function() c:step(0) end, pollfd = function() c:pollfd() end,
                              stats = function() c:stats() end,
                              generate_images = function() c:generate_images { prompt = "a cat" } end } do
      local ok, msg = pcall(call)
      assert.is_false(ok, name)
      assert.matches("errors_spec%.lua:%d+: attempt to use a closed firefly client", tostring(msg), 1, name)
    end
    assert.is_nil(c:timeout())
    assert.are.equal("r", c:events())
  end)

  it("makes no request for any of the above", function()
    assert.are.equal(0, emu:count(nil, "^/v3/"))
  end)
end)

describe("misuse of a result or a job in hand", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.3 } end)
  teardown(function() helper.close(emu, ff) end)

  it("raises on an output's save or bytes called with a dot, saying so", function()
    local out = assert(ff:generate_images { prompt = "a cat", size = SIZE, seeds = { 1 } }).outputs[1]
    raises("output:save: call it with a colon, out:save", function() out.save("x.png") end)
    raises("output:bytes: call it with a colon, out:bytes", function() out.bytes() end)
  end)

  it("raises on a NaN wait in ff:step and job:wait, naming it, rather than from inside the core", function()
    raises("ff:step: wait must be a non%-negative number of seconds, got %-?nan", function() ff:step(0 / 0) end)
    local job = assert(ff:generate_images({ prompt = "a cat", size = SIZE, seeds = { 2 } }, { wait = false }))
    raises("job:wait: timeout must be a non%-negative number of seconds, got %-?nan", function() job:wait(0 / 0) end)
    assert(job:wait())
  end)

  it("raises on a negative wait in ff:step, job:wait and op:wait, naming the argument, and takes 0", function()
    raises("ff:step: wait must be a non%-negative number of seconds, got %-1", function() ff:step(-1) end)
    raises("ff:step: wait must be a non%-negative number of seconds, got %-inf", function() ff:step(-math.huge) end)
    local job = assert(ff:generate_images({ prompt = "a cat", size = SIZE, seeds = { 3 } }, { wait = false }))
    raises("job:wait: timeout must be a non%-negative number of seconds, got %-1", function() job:wait(-1) end)
    local out = assert(job:wait()).outputs[1]
    local op = assert(out:fetch { wait = false })
    raises("op:wait: timeout must be a non%-negative number of seconds, got %-0.5", function() op:wait(-0.5) end)
    raises("op:wait: timeout must be a non%-negative number of seconds, got %-?nan", function() op:wait(0 / 0) end)
    raises('op:wait: timeout must be a non%-negative number of seconds, got "soon"', function() op:wait("soon") end)
    assert.is_table(ff:step(0))
    assert.is_string(assert(op:wait()))
  end)
end)

describe("a bad body", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.3 } end)
  teardown(function() helper.close(emu, ff) end)

  -- name, body, opts, the field's loc as a dotted path
  local CASES = {
    { "an empty prompt", body { prompt = "" }, nil, "body.prompt" },
    { "a prompt of 1025 characters", body { prompt = ("a"):rep(1025) }, nil, "body.prompt" },
    { "numVariations 0", body { numVariations = 0 }, nil, "body.numVariations" },
    { "numVariations 5", body { numVariations = 5 }, nil, "body.numVariations" },
    { "numVariations 2.5", body { numVariations = 2.5 }, nil, "body.numVariations" },
    { "seeds that do not number numVariations", body { numVariations = 3, seeds = { 1, 2 } }, nil, "body.seeds" },
    { "duplicate seeds", body { seeds = { 7, 7 } }, nil, "body.seeds" },
    { "size width 0", body { size = { width = 0, height = 64 } }, nil, "body.size.width" },
    { "size width 4097", body { size = { width = 4097, height = 64 } }, nil, "body.size.width" },
    { "contentClass painting", body { contentClass = "painting" }, nil, "body.contentClass" },
    { "visualIntensity 11", body { visualIntensity = 11 }, nil, "body.visualIntensity" },
    { "style.strength 0", body { style = { strength = 0 } }, nil, "body.style.strength" },
    { "structure.strength 101",
      body { structure = { strength = 101, imageReference = { source = { url = S3 } } } }, nil,
      "body.structure.strength" },
    { "x-model-version image9", body {}, { model_version = "image9" }, "header.x-model-version" },
    { "image4_custom without customModelId", body {}, { model_version = "image4_custom" }, "body.customModelId" },
  }

  for _, case in ipairs(CASES) do
    local name, b, opts, loc = case[1], case[2], case[3], case[4]
    it(("is refused before any request when it has %s, naming %s"):format(name, loc), function()
      local r, err = ff:generate_images(b, opts)
      assert.is_nil(r)
      assert.are.equal("validation", err.kind)
      assert.is_table(err.details)
      local locs = {}
      for i, d in ipairs(err.details) do
        local parts = {}
        for j, k in ipairs(d.loc) do parts[j] = tostring(k) end
        locs[i] = table.concat(parts, ".")
      end
      assert.are.equal(loc, locs[1], "loc was " .. table.concat(locs, ", "))
      -- The message names the field as the dotted path (body.numVariations).
      assert.is_truthy(err.message:find(loc, 1, true), err.message)
      assert.is_truthy(tostring(err):find(loc, 1, true), tostring(err))
      assert.are.equal(0, emu:count("POST", "generate%-async"))
    end)
  end

  -- lua-cjson writes "%.14g": 2^53 + 2 would go out as 9.007199254741e+15, another seed.
  it("is refused before any request when a whole number would reach Firefly as another, naming it", function()
    local before = emu:count("POST", "generate%-async")
    for _, case in ipairs {
      { body { seeds = { 2 ^ 53 + 2 } }, nil, "body.seeds.1", "9007199254740994" },
      { body { seeds = { 123456789012345 } }, nil, "body.seeds.1", "123456789012345" },
      -- validate = "off" skips Adobe's rules, not this: the schema has no say in it
      { body { size = { width = 2 ^ 1000, height = 64 } }, { validate = "off" }, "body.size.width", "e+301" },
      { body { extra = { { n = -2 ^ 60 } } }, { validate = "off" }, "body.extra.1.n", "-1152921504606846976" },
    } do
      local r, err = ff:generate_images(case[1], case[2])
      assert.is_nil(r)
      assert.are.equal("validation", err.kind)
      assert.are.equal(case[3], table.concat(err.details[1].loc, "."))
      assert.is_truthy(err.message:find(case[3] .. ": ", 1, true), err.message)
      assert.is_truthy(err.message:find(case[4], 1, true), err.message)
      assert.matches("cannot be sent exactly", err.message)
    end
    assert.are.equal(before, emu:count("POST", "generate%-async"))
  end)

  -- JSON is UTF-8 and lua-cjson copies a string's bytes: Latin-1 text would make a body
  -- Firefly cannot read. Each case: a body, its options, the field, the byte named.
  it("is refused before any request when a string is not UTF-8, naming the field and the byte", function()
    local before = emu:count("POST", "generate%-async")
    for _, case in ipairs {
      { body { prompt = "caf\233 au lait" }, nil, "body.prompt", "byte 4 (0xE9)" },
      { body { prompt = "cut short \195" }, nil, "body.prompt", "byte 11 (0xC3)" },
      { body { prompt = "overlong \192\175" }, nil, "body.prompt", "byte 10 (0xC0)" },
      { body { prompt = "a surrogate \237\160\128" }, nil, "body.prompt", "byte 13 (0xED)" },
      { body { prompt = "past U+10FFFF \244\144\128\128" }, nil, "body.prompt", "byte 15 (0xF4)" },
      { body { prompt = "a stray \128" }, nil, "body.prompt", "byte 9 (0x80)" },
      -- validate = "off" skips Adobe's rules, not this; a field's name is text too
      { body { negativePrompt = "\255" }, { validate = "off" }, "body.negativePrompt", "byte 1 (0xFF)" },
      { body { extra = { ["na\239ve"] = 1 } }, { validate = "off" }, "body.extra.na\239ve", "byte 3 (0xEF)" },
    } do
      local r, err = ff:generate_images(case[1], case[2])
      assert.is_nil(r)
      assert.are.equal("validation", err.kind)
      assert.are.equal(case[3], table.concat(err.details[1].loc, "."))
      assert.are.equal("string_not_utf8", err.details[1].type)
      assert.is_truthy(err.message:find(case[3] .. ": is not UTF-8 text", 1, true), err.message)
      assert.is_truthy(err.message:find(case[4], 1, true), err.message)
    end
    assert.are.equal(before, emu:count("POST", "generate%-async"))
  end)

  it("is refused without a token request either", function()
    assert.are.equal(0, emu:count("POST", "^/ims/token/v3$"))
  end)
end)

describe("a body of numbers and text JSON can carry", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.1 } end)
  teardown(function() helper.close(emu, ff) end)

  it("sends a whole number of 14 digits, and any fraction, as they are", function()
    local r, err = ff:generate_images(body { seeds = { 99999999999999 } })
    assert.is_nil(err)
    assert.are.equal(99999999999999, r.outputs[1].seed)
    -- fields Adobe's schema does not know, which the emulator lets by: 0.3 goes out rounded
    r, err = ff:generate_images(body { extra = 0.1 + 0.2, big = 1e300 }, { validate = "off" })
    assert.is_nil(err and err.message)
    assert.is_table(r.outputs)
  end)

  it("sends UTF-8 text of every length of character as it is", function()
    -- characters of 2, 3 and 4 bytes, U+FFFF and the last, U+10FFFF
    local text = "caf\195\169 \226\130\172 \240\159\144\136 \239\191\191 \244\143\191\191"
    local before = emu:count("POST", "generate%-async")
    local r, err = ff:generate_images(body { prompt = text })
    assert.is_nil(err and err.message)
    assert.is_table(r.outputs)
    assert.are.equal(before + 1, emu:count("POST", "generate%-async"))
  end)
end)

describe("errors from the server", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3 } end)
  teardown(function() emu:stop() end)

  it("give a wrong API key as auth, HTTP 403, the gateway's code 403003 and a request id", function()
    local token = emu:token()
    local ff = firefly.new { client_id = "someone-elses-client-id", access_token = token,
                             api_url = emu.url, ims_url = emu.url }
    finally(function() ff:close() end)
    local r, err = ff:generate_images { prompt = "a cat", size = SIZE }
    assert.is_nil(r)
    assert.are.equal("auth", err.kind)
    assert.are.equal(403, err.status)
    assert.are.equal("403003", err.code)
    assert.is_string(err.request_id)
    assert.is_true(#err.request_id > 0)
    local log = emu:log()
    assert.are.equal(err.request_id, log[#log].request_id)
  end)
end)

describe("an unreachable API host", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3 } end)
  teardown(function() emu:stop() end)

  it("gives a transport error after the retries, saying how many attempts were made", function()
    -- Port 1 on the loopback: nothing listens there, so every connection is refused.
    local ff = emu:client({ api_url = "http://127.0.0.1:1", max_retries = 1 })
    finally(function() ff:close() end)
    local r, err = ff:generate_images { prompt = "a cat", size = SIZE }
    assert.is_nil(r)
    assert.are.equal("transport", err.kind)
    assert.are.equal(2, err.attempts)
    assert.is_string(err.message)
    assert.matches("transport", tostring(err))
  end)
end)

describe("an expired output URL", function()
  local emu, ff, out, dir
  setup(function()
    emu = helper.start { job_seconds = 0.3, extra = { ["url-seconds"] = 1 } }
    ff = emu:client()
    local r = assert(ff:generate_images { prompt = "a cat", size = SIZE })
    out = r.outputs[1]
    helper.sleep(2)
    dir = tmpdir()
  end)
  teardown(function()
    ff:close()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("gives an http 403 whose message says output URLs expire", function()
    local ok, err = out:save(dir .. "/cat.png")
    assert.is_nil(ok)
    assert.are.equal("http", err.kind)
    assert.are.equal(403, err.status)
    assert.matches("expire", err.message)
    local n403 = 0
    for _, e in ipairs(emu:log()) do
      if e.path:find("^/outputs/") and e.status == 403 then n403 = n403 + 1 end
    end
    assert.is_true(n403 >= 1)
  end)

  it("leaves neither the file nor a .part- temporary file behind", function()
    local path = dir .. "/dog.png"
    assert.is_nil((out:save(path)))
    assert.is_nil(io.open(path, "rb"))
    local names = ls(dir)
    for _, name in ipairs(names) do
      assert.is_nil(name:find(".part-", 1, true), "left behind: " .. name)
    end
    assert.are.same({}, names)
  end)

  it("gives the same error from out:bytes()", function()
    local bytes, err = out:bytes()
    assert.is_nil(bytes)
    assert.are.equal(403, err.status)
    assert.matches("expire", err.message)
  end)
end)

describe("tostring(err)", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.3 } end)
  teardown(function() helper.close(emu, ff) end)

  it("reads as kind, message, code, job and request id on one line", function()
    local _, err = ff:generate_images { prompt = "[emulator:fail] a cat", size = SIZE }
    local s = tostring(err)
    assert.matches("^firefly: job_failed error", s)
    assert.is_truthy(s:find(err.message, 1, true), s)
    assert.is_truthy(s:find("runtime_error", 1, true), s)
    assert.is_truthy(s:find("job=" .. err.job_id, 1, true), s)
    assert.is_truthy(s:find("request_id=" .. err.request_id, 1, true), s)
    assert.is_nil(s:find("\n", 1, true))
  end)

  it("shows the HTTP status when there is one", function()
    local _, err = ff:job("urn:ff:jobs:emu851000:00000000-0000-4000-8000-000000000000")
    local s = tostring(err)
    assert.matches("^firefly: http error %(HTTP 404%): ", s)
    assert.is_truthy(s:find("unknown_job_id", 1, true), s)
    assert.is_truthy(s:find("request_id=" .. err.request_id, 1, true), s)
  end)

  it("names the field for a validation error", function()
    local _, err = ff:generate_images { prompt = "a cat", numVariations = 9 }
    assert.matches("^firefly: validation error: .*body%.numVariations", tostring(err))
  end)
end)
