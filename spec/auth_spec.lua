-- IMS auth as a user sees it: one token for many jobs, renewal before expiry,
-- one refresh on a 401, fixed access tokens, environment credentials, and no
-- secret anywhere it could leak. Proven from the emulator's request log.
local helper = require("helpers.emulator")
local firefly = require("firefly")
local recorder = require("helpers.recorder")

local SIZE = { width = 64, height = 64 }


-- Every string field of err, plus tostring(err), in one string to search.
local function everything_in(err)
  local parts = { tostring(err) }
  for k, v in pairs(err) do
    parts[#parts + 1] = tostring(k) .. "=" .. (type(v) == "table" and helper.json.encode(v) or tostring(v))
  end
  return table.concat(parts, "\n")
end

local function count_status(emu, method, pattern, status)
  local n = 0
  for _, e in ipairs(emu:log()) do
    if e.method == method and e.path:find(pattern) and e.status == status then n = n + 1 end
  end
  return n
end

local tmpdir = helper.tmpdir

local function interpreter()
  return helper.lua
end

describe("the IMS token", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3 } end)
  teardown(function() emu:stop() end)

  it("is fetched once and serves many jobs", function()
    local ff = emu:client()
    local jobs = {}
    for i = 1, 10 do
      jobs[i] = assert(ff:generate_images({ prompt = "cat " .. i, size = SIZE }, { wait = false }))
    end
    for i = 1, 10 do assert.is_table(assert(jobs[i]:wait())) end
    assert.are.equal(1, emu:count("POST", "^/ims/token/v3$"))
    assert.are.equal(10, count_status(emu, "POST", "^/v3/images/generate%-async$", 202))
    ff:close()
  end)

  it("wakes the submits that waited for it a few a step, with ff:timeout() 0 until all are sent", function()
    local ff = emu:client()
    local jobs, fetched = {}, emu:count("POST", "^/ims/token/v3$")
    for i = 1, 20 do
      jobs[i] = assert(ff:generate_images({ prompt = "cat " .. i, size = SIZE }, { wait = false }))
    end
    -- requests counts every attempt put on the engine: the token request first.
    -- Steps of a frame loop, step(0): a step(wait) may take several turns.
    while ff:stats().requests == 1 do ff:step(0) end
    local steps, sent = 1, ff:stats().requests - 1
    assert.is_true(sent <= 8, ("the step the token came in started %d of the 20 submits"):format(sent))
    while ff:stats().requests < 21 do
      assert.are.equal(0, ff:timeout())
      ff:step(0)
      steps = steps + 1
    end
    assert.is_true(steps >= 3)
    for i = 1, 20 do assert.is_table(assert(jobs[i]:wait())) end
    assert.are.equal(fetched + 1, emu:count("POST", "^/ims/token/v3$"))
    ff:close()
  end)

  it("is requested with a URL-encoded form at {ims_url}/ims/token/v3", function()
    -- A recording proxy in front of the emulator's IMS keeps the request as sent.
    local rec, why = recorder.start(emu.url)
    if not rec then return pending(why) end
    finally(function() rec:stop() end)
    local url = rec.url
    local ff = emu:client({ ims_url = url .. "/" })
    assert(ff:generate_images { prompt = "a cat", size = SIZE })
    ff:close()
    local lines = rec:requests()
    assert.are.equal(1, #lines)
    local r = lines[1]
    assert.are.equal("/ims/token/v3", r.path)
    assert.are.equal("POST", r.method)
    assert.matches("^application/x%-www%-form%-urlencoded", r.headers["content-type"])
    local form = {}
    for k, v in r.body:gmatch("([^&=]+)=([^&]*)") do
      form[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    end
    assert.are.equal("client_credentials", form.grant_type)
    assert.are.equal(emu.client_id, form.client_id)
    assert.are.equal(emu.client_secret, form.client_secret)
    assert.is_truthy(form.scope and form.scope:find("firefly_api", 1, true))
  end)
end)

describe("an expiring token", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 1, token_seconds = 2 } end)
  teardown(function() emu:stop() end)

  it("is renewed before it is used past its lifetime", function()
    local ff = emu:client()
    -- Four jobs one after another: about four seconds, two token lifetimes.
    for i = 1, 4 do assert(ff:generate_images { prompt = "dog " .. i, size = SIZE }) end
    ff:close()
    assert.is_true(emu:count("POST", "^/ims/token/v3$") >= 2)
    for _, e in ipairs(emu:log()) do
      assert.are_not.equal(401, e.status, "a request was sent with an expired token: " .. e.path)
    end
  end)
end)

describe("a revoked token", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3 } end)
  teardown(function() emu:stop() end)

  it("is refreshed once and the request retried", function()
    local ff = emu:client()
    assert(ff:generate_images { prompt = "first", size = SIZE })
    emu:revoke_tokens()
    local before = #emu:log()
    assert(ff:generate_images { prompt = "second", size = SIZE })
    ff:close()
    local log, after = emu:log(), {}
    for i = before + 1, #log do after[#after + 1] = log[i] end
    -- Skip the control request itself.
    while after[1] and after[1].path:find("^/__emulator/") do table.remove(after, 1) end
    assert.are.equal("/v3/images/generate-async", after[1].path)
    assert.are.equal(401, after[1].status)
    assert.are.equal("/ims/token/v3", after[2].path)
    assert.are.equal(200, after[2].status)
    assert.are.equal("/v3/images/generate-async", after[3].path)
    assert.are.equal(202, after[3].status)
    assert.are.equal(2, emu:count("POST", "^/ims/token/v3$"))
  end)
end)

describe("wrong credentials", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3 } end)
  teardown(function() emu:stop() end)

  it("give an auth error that says so and holds no secret", function()
    local secret = "not-the-secret-xyzzy-42"
    local ff = emu:client({ client_secret = secret })
    local r, err = ff:generate_images { prompt = "a cat", size = SIZE }
    ff:close()
    assert.is_nil(r)
    assert.are.equal("auth", err.kind)
    -- IMS's own words name the bad field; either they or ours must say what is wrong.
    assert.is_truthy(err.message:find("client_secret", 1, true) or err.message:find("credentials", 1, true),
      err.message)
    assert.are.equal(401, err.status)
    assert.is_nil(everything_in(err):find(secret, 1, true))
    assert.are.equal(0, emu:count("POST", "^/v3/images/generate%-async$"))
  end)

  it("give an auth error when a fixed access token is refused", function()
    local ff = firefly.new { client_id = emu.client_id, access_token = "made-up-token-that-was-never-issued",
                             api_url = emu.url, ims_url = emu.url }
    local r, err = ff:generate_images { prompt = "a cat", size = SIZE }
    ff:close()
    assert.is_nil(r)
    assert.are.equal("auth", err.kind)
    assert.is_nil(everything_in(err):find("made-up-token-that-was-never-issued", 1, true))
  end)
end)

describe("a fixed access token", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3 } end)
  teardown(function() emu:stop() end)

  it("is used as is, with no token request", function()
    local token = emu:token()
    local before = emu:count("POST", "^/ims/token/v3$")
    local ff = firefly.new { client_id = emu.client_id, access_token = token,
                             api_url = emu.url, ims_url = emu.url }
    local r = assert(ff:generate_images { prompt = "a cat", size = SIZE })
    assert.is_string(r.outputs[1].image.url)
    ff:close()
    assert.are.equal(before, emu:count("POST", "^/ims/token/v3$"))
  end)
end)

describe("secrets", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3, extra = { ["url-seconds"] = 1 } } end)
  teardown(function() emu:stop() end)

  it("never appear in an error, its tostring, or the emulator's log", function()
    local ff = emu:client()
    local seen = {}
    local function keep(r, err)
      if err then seen[#seen + 1] = everything_in(err) end
      return r, err
    end
    keep(ff:generate_images { prompt = "[emulator:fail] a cat", size = SIZE })
    keep(ff:generate_images { prompt = "[emulator:unsafe] a cat", size = SIZE })
    keep(ff:generate_images { prompt = "", size = SIZE })
    keep(ff:job("urn:ff:jobs:emu851000:00000000-0000-4000-8000-000000000000"))
    local r = assert(ff:generate_images { prompt = "a cat", size = SIZE })
    helper.sleep(2) -- the output URL expires (url-seconds 1)
    keep(r.outputs[1]:bytes())
    emu:revoke_tokens()
    keep(ff:generate_images { prompt = "[emulator:fail] again", size = SIZE })
    ff:close()
    local bad = emu:client({ client_secret = "wrong-" .. emu.client_secret })
    keep(bad:generate_images { prompt = "a cat", size = SIZE })
    bad:close()
    assert.are.equal(7, #seen)

    -- Adobe's tokens (and the emulator's) are JWTs: base64url of '{"' starts "eyJ".
    local logtext = helper.slurp(emu.logfile)
    assert.is_true(#logtext > 0)
    for _, text in ipairs(seen) do
      assert.is_nil(text:find(emu.client_secret, 1, true), text)
      assert.is_nil(text:find("Bearer", 1, true), text)
      assert.is_nil(text:find("eyJ", 1, true), text)
    end
    assert.is_nil(logtext:find(emu.client_secret, 1, true))
    assert.is_nil(logtext:find("eyJ", 1, true))
    assert.is_nil(logtext:find("Bearer", 1, true))
  end)

  it("do not go to output URLs: no API key and no token on /outputs/", function()
    local ff = emu:client()
    local r = assert(ff:generate_images { prompt = "a cat", numVariations = 2, size = SIZE })
    assert.is_string(assert(r.outputs[1]:bytes()))
    local path = os.tmpname()
    finally(function() os.remove(path) end)
    assert(r.outputs[2]:save(path))
    ff:close()
    local n = 0
    for _, e in ipairs(emu:log()) do
      if e.path:find("^/outputs/") then
        n = n + 1
        assert.is_false(e.auth_header)
      end
    end
    assert.is_true(n >= 2)
  end)
end)

describe("credentials from the environment", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3 } end)
  teardown(function() emu:stop() end)

  it("are resolved from FIREFLY_SERVICES_* when not given", function()
    local env = {
      FIREFLY_SERVICES_CLIENT_ID = "id-from-env",
      FIREFLY_SERVICES_CLIENT_SECRET = "secret-from-env",
      FIREFLY_SERVICES_ACCESS_TOKEN = "token-from-env",
    }
    local o = require("firefly.options").resolve({}, function(k) return env[k] end)
    assert.are.equal("id-from-env", o.client_id)
    assert.are.equal("secret-from-env", o.client_secret)
    assert.are.equal("token-from-env", o.access_token)
  end)

  it("let a script with no options in firefly.new generate an image", function()
    local dir = tmpdir()
    finally(function() os.execute("rm -rf '" .. dir .. "'") end)
    local script = dir .. "/child.lua"
    local f = assert(io.open(script, "w"))
    f:write([[
local ff = require("firefly").new()
local r, err = ff:generate_images{ prompt = "a cat from the environment", size = { width = 64, height = 64 } }
io.write(r and ("ok " .. #r.outputs) or ("error " .. tostring(err)))
]])
    f:close()
    local cmd = ("FIREFLY_SERVICES_ACCESS_TOKEN= FIREFLY_SERVICES_CLIENT_ID='%s' FIREFLY_SERVICES_CLIENT_SECRET='%s' "
      .. "FIREFLY_SERVICES_API_URL='%s' FIREFLY_SERVICES_IMS_URL='%s' %s '%s' 2>&1"):format(
      emu.client_id, emu.client_secret, emu.url, emu.url, interpreter(), script)
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    assert.are.equal("ok 1", out)
    assert.are.equal(1, emu:count("POST", "^/ims/token/v3$"))
    assert.are.equal(1, emu:count("POST", "^/v3/images/generate%-async$"))
  end)
end)
