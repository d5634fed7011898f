-- Credentials go only to API hosts: the API key and token travel to api_url's
-- host and Adobe's *.adobe.io hosts, never to whatever host a statusUrl names.
local helper = require "helpers.emulator"
local firefly = require "firefly"

local SIZE = { width = 16, height = 16 }

describe("credential hosts", function()
  local emu, via_localhost

  setup(function()
    emu = helper.start { job_seconds = 0.3 }
    -- The same emulator by another name: its statusUrl says 127.0.0.1.
    via_localhost = emu.url:gsub("127%.0%.0%.1", "localhost")
  end)

  teardown(function() emu:stop() end)

  local function client(extra)
    local o = { client_id = emu.client_id, client_secret = emu.client_secret,
                api_url = via_localhost, ims_url = emu.url }
    for k, v in pairs(extra or {}) do o[k] = v end
    return firefly.new(o)
  end

  it("refuses to poll a statusUrl on a host that is not an API host, sending nothing there", function()
    local ff = client()
    local polls_before = emu:count("GET", "^/v3/status/")
    local result, err = ff:generate_images { prompt = "elsewhere", size = SIZE }
    assert.is_nil(result)
    assert.are.equal("auth", err.kind)
    assert.truthy(err.message:find("127.0.0.1", 1, true), err.message)
    assert.truthy(err.message:find("api_hosts", 1, true), err.message)
    assert.truthy(err.job_id and err.job_id:match("^urn:ff:jobs:"))
    assert.are.equal(polls_before, emu:count("GET", "^/v3/status/"))
    ff:close()
  end)

  it("follows the statusUrl once its host is added to api_hosts", function()
    local ff = client { api_hosts = { "127.0.0.1" } }
    local r = assert(ff:generate_images { prompt = "allowed", size = SIZE })
    assert.are.equal(1, #r.outputs)
    ff:close()
  end)

  it("refuses an api_hosts entry that is not a host name", function()
    assert.has_error(function() client { api_hosts = { "http://evil.example/" } } end)
    assert.has_error(function() client { api_hosts = { "a,b" } } end)
  end)
end)
