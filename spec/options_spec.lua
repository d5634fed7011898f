-- Client options: Adobe's production hosts by default, the FIREFLY_SERVICES_*
-- environment as a fallback, URLs tidied, and bad values refused by name.
local helper = require("helpers.emulator")
local firefly = require("firefly")
local options = require("firefly.options")

local CREDS = { client_id = "id", client_secret = "secret" }

local function with(extra)
  local o = {}
  for k, v in pairs(CREDS) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

local function env(map)
  return function(name) return map[name] end
end

local NO_ENV = env {}

local function refused(pattern, opts, getenv)
  local ok, msg = pcall(options.resolve, opts, getenv or NO_ENV)
  assert.is_false(ok, "expected a refusal matching " .. pattern)
  assert.matches(pattern, tostring(msg))
end

describe("defaults", function()
  it("point at Adobe's production API and IMS hosts", function()
    local o = options.resolve(with(), NO_ENV)
    assert.are.equal("https://firefly-api.adobe.io", o.api_url)
    assert.are.equal("https://ims-na1.adobelogin.com", o.ims_url)
  end)

  it("ask for the Firefly scopes", function()
    local o = options.resolve(with(), NO_ENV)
    assert.is_truthy(o.scopes:find("firefly_api", 1, true))
    assert.is_truthy(o.scopes:find("ff_apis", 1, true))
  end)

  it("give every job a deadline and every client some retries", function()
    local o = options.resolve(with(), NO_ENV)
    assert.is_true(o.timeout > 0)
    assert.is_true(o.poll_interval > 0)
    assert.is_true(o.max_retries >= 1)
    assert.is_nil(o.log)
  end)
end)

describe("the environment", function()
  local ENV = {
    FIREFLY_SERVICES_CLIENT_ID = "env-id",
    FIREFLY_SERVICES_CLIENT_SECRET = "env-secret",
    FIREFLY_SERVICES_ACCESS_TOKEN = "env-token",
    FIREFLY_SERVICES_API_URL = "http://api.example.test",
    FIREFLY_SERVICES_IMS_URL = "http://ims.example.test",
    FIREFLY_LOG = "debug",
  }

  it("fills every option it names when the option is not given", function()
    local o = options.resolve({}, env(ENV))
    assert.are.equal("env-id", o.client_id)
    assert.are.equal("env-secret", o.client_secret)
    assert.are.equal("env-token", o.access_token)
    assert.are.equal("http://api.example.test", o.api_url)
    assert.are.equal("http://ims.example.test", o.ims_url)
    assert.are.equal("debug", o.log)
  end)

  it("gives way to an option passed to firefly.new", function()
    local o = options.resolve({ client_id = "mine", api_url = "http://mine.test" }, env(ENV))
    assert.are.equal("mine", o.client_id)
    assert.are.equal("http://mine.test", o.api_url)
    assert.are.equal("env-secret", o.client_secret)
  end)

  it("treats an empty variable as unset", function()
    local o = options.resolve(with(), env { FIREFLY_SERVICES_API_URL = "", FIREFLY_SERVICES_ACCESS_TOKEN = "" })
    assert.are.equal("https://firefly-api.adobe.io", o.api_url)
    assert.is_nil(o.access_token)
  end)

  it("has its FIREFLY_LOG checked like the option", function()
    refused("log must be 'info' or 'debug'", {}, env { FIREFLY_LOG = "loud",
      FIREFLY_SERVICES_CLIENT_ID = "a", FIREFLY_SERVICES_CLIENT_SECRET = "b" })
  end)
end)

describe("URLs", function()
  it("lose their trailing slashes", function()
    local o = options.resolve(with { api_url = "http://a.test/", ims_url = "http://i.test///" }, NO_ENV)
    assert.are.equal("http://a.test", o.api_url)
    assert.are.equal("http://i.test", o.ims_url)
  end)

  it("lose their trailing slashes when they come from the environment too", function()
    local o = options.resolve(with(), env { FIREFLY_SERVICES_API_URL = "http://a.test/base/" })
    assert.are.equal("http://a.test/base", o.api_url)
  end)

  describe("with trailing slashes, against the emulator", function()
    local emu
    setup(function() emu = helper.start { job_seconds = 0.3 } end)
    teardown(function() emu:stop() end)

    it("still reach the right paths", function()
      local ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
                               api_url = emu.url .. "/", ims_url = emu.url .. "//" }
      finally(function() ff:close() end)
      assert(ff:generate_images { prompt = "a cat", size = { width = 64, height = 64 } })
      assert.are.equal(1, emu:count("POST", "^/ims/token/v3$"))
      assert.are.equal(1, emu:count("POST", "^/v3/images/generate%-async$"))
      assert.are.equal(0, emu:count(nil, "^//"))
    end)
  end)
end)

describe("bad values", function()
  it("are refused when options is not a table", function()
    refused("options must be a table, got string", "http://a.test")
  end)

  it("are refused by name when the option is unknown", function()
    refused("unknown option 'api_key'", with { api_key = "x" })
    refused("unknown option 'timout'", with { timout = 3 })
  end)

  it("are refused by name when of the wrong type", function()
    refused("option 'timeout' must be a number, got string", with { timeout = "30" })
    refused("option 'api_url' must be a string, got number", with { api_url = 8080 })
    refused("option 'client_secret' must be a string, got boolean", with { client_secret = true })
    refused("option 'ca_file' must be a string, got boolean", with { ca_file = false })
  end)

  it("are refused by name when a duration is not positive", function()
    for _, k in ipairs { "timeout", "poll_interval", "poll_max", "request_timeout", "connect_timeout" } do
      refused("option '" .. k .. "' must be a number from [%d.]+ to %d+ %(seconds%), got 0", with { [k] = 0 })
      refused("option '" .. k .. "' must be a number from", with { [k] = -1 })
    end
  end)

  it("are refused by name when max_retries is negative", function()
    refused("option 'max_retries' must be a whole number from 0 to 20, got %-1", with { max_retries = -1 })
    assert.are.equal(0, options.resolve(with { max_retries = 0 }, NO_ENV).max_retries)
  end)
end)

describe("number ranges", function()
  local nan, inf = 0 / 0, math.huge

  it("refuse NaN and both infinities for every number option, by name", function()
    for k in pairs(options.RANGES) do
      local opts = k:find("^rate_limit%.") and with { rate_limit = { [k:match("%.(.+)")] = nan } } or with { [k] = nan }
      refused("option '" .. k:gsub("%.", "%%.") .. "' must be", opts)
      if not k:find("^rate_limit%.") then
        refused("option '" .. k .. "' must be", with { [k] = inf })
        refused("option '" .. k .. "' must be", with { [k] = -inf })
      end
    end
  end)

  it("refuse a poll_interval so small it would flood the server with polls", function()
    refused("option 'poll_interval' must be a number from 0.1 to 3600 %(seconds%), got 1e%-09",
      with { poll_interval = 1e-9 })
  end)

  it("refuse max_retries = math.huge instead of turning it into 0, and fractions", function()
    refused("option 'max_retries' must be a whole number from 0 to 20", with { max_retries = math.huge })
    refused("option 'max_retries' must be a whole number", with { max_retries = 1.5 })
  end)

  it("accept both ends of every range", function()
    for k, r in pairs(options.RANGES) do
      for _, v in ipairs { r[1], r[2] } do
        local opts = k:find("^rate_limit%.") and with { rate_limit = { [k:match("%.(.+)")] = v } } or with { [k] = v }
        assert(pcall(options.resolve, opts, NO_ENV), k .. " = " .. v)
      end
    end
  end)

  it("apply to the per-call timeout and max_retries, refused before anything is sent", function()
    local emu, ff = helper.serve { job_seconds = 0.2 }
    finally(function() helper.close(emu, ff) end)
    local body = { prompt = "never sent", size = { width = 16, height = 16 } }
    for _, o in ipairs { { timeout = 0 }, { timeout = -1 }, { timeout = nan }, { max_retries = math.huge },
                         { max_retries = nan } } do
      local k = next(o)
      assert.has_error(function() ff:generate_images(body, o) end)
      local ok, msg = pcall(ff.generate_images, ff, body, o)
      assert.is_false(ok)
      assert.matches("ff:generate_images: option '" .. k .. "' must be", msg)
    end
    assert.are.equal(0, emu:count("POST", "^/v3/images/"))
  end)

  it("are written in the README, every one", function()
    local readme = assert(helper.slurp("README.md"))
    for k, r in pairs(options.RANGES) do
      local line = ("| `%s` | %s to %s |"):format(k, ("%g"):format(r[1]), ("%g"):format(r[2]))
      assert.truthy(readme:find(line, 1, true), "README lacks the line " .. line)
    end
  end)

  it("are refused when log is neither info nor debug", function()
    refused("log must be 'info' or 'debug', got 'verbose'", with { log = "verbose" })
  end)

  it("are refused when there are no credentials at all, naming the variables", function()
    refused("FIREFLY_SERVICES_CLIENT_ID", {})
    refused("FIREFLY_SERVICES_CLIENT_SECRET", { client_id = "id" })
  end)

  it("are refused when an access token comes without the client id Firefly needs as x-api-key", function()
    refused("client_id is required with access_token", { access_token = "t" })
  end)

  it("raise from firefly.new itself, pointing at the caller's line", function()
    local function make()
      local ff = firefly.new(with { timeout = "soon" }) -- the line the error names
      return ff
    end
    local ok, msg = pcall(make)
    assert.is_false(ok)
    assert.matches("options_spec%.lua:%d+: firefly%.new: option 'timeout' must be a number", msg)
  end)
end)
