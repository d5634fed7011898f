-- Credentials go only to API hosts: the API key and token travel to api_url's
-- origin (scheme, host and port), to https *.adobe.io and to what api_hosts
-- names, never to whatever host, port or scheme a statusUrl names.
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

  it("follows the statusUrl once its host and port are added to api_hosts", function()
    local ff = client { api_hosts = { emu.url:match("^http://(.+)$") } }
    local r = assert(ff:generate_images { prompt = "allowed", size = SIZE })
    assert.are.equal(1, #r.outputs)
    ff:close()
  end)

  it("does not let an api_hosts entry without a port cover another port", function()
    local ff = client { api_hosts = { "127.0.0.1" } }
    local result, err = ff:generate_images { prompt = "portless", size = SIZE }
    assert.is_nil(result)
    assert.are.equal("auth", err.kind)
    ff:close()
  end)

  it("refuses a plain-http api_url or ims_url off loopback before sending anything", function()
    local base = { client_id = "id", client_secret = "secret" }
    local function new(extra)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(extra) do o[k] = v end
      return firefly.new(o)
    end
    assert.has_error(function() new { api_url = "http://api.example.test", ims_url = emu.url } end,
      "firefly.new: api_url must be an https URL (plain http only to a loopback address)")
    assert.has_error(function() new { api_url = emu.url, ims_url = "http://ims.example.test" } end,
      "firefly.new: ims_url must be an https URL (plain http only to a loopback address)")
  end)

  it("refuses an api_hosts entry that is not a host name", function()
    assert.has_error(function() client { api_hosts = { "http://evil.example/" } } end)
    assert.has_error(function() client { api_hosts = { "a,b" } } end)
  end)

  it("refuses a wildcard, a bare dot, a bare port or a one-label suffix, saying what an entry looks like", function()
    for _, entry in ipairs { "*", "*.example.com", ".", ":80", ".com", "studio.example:0", "studio..example" } do
      local ok, msg = pcall(client, { api_hosts = { "ok.example", entry } })
      assert.is_false(ok, entry .. " was accepted")
      assert.truthy(msg:find("firefly.new: api_hosts[2] (" .. ("%q"):format(entry) .. "): ", 1, true), msg)
      assert.truthy(msg:find("an entry is a host name (api.example.com), a .suffix", 1, true), msg)
    end
  end)
end)

-- A statusUrl on the API host's other port, or in clear text: the emulator's
-- --public-url makes its statusUrl name a second emulator, which records
-- whether any request, and any credential, reached it.
describe("credential origins", function()
  local elsewhere

  setup(function() elsewhere = helper.start {} end)
  teardown(function() elsewhere:stop() end)

  local function reached_elsewhere()
    local n, with_auth = 0, 0
    for _, e in ipairs(elsewhere:log()) do
      n = n + 1
      if e.auth_header then with_auth = with_auth + 1 end
    end
    return n, with_auth
  end

  local function refused_without_sending(ff)
    local result, err = ff:generate_images { prompt = "another origin", size = SIZE }
    ff:close()
    assert.is_nil(result)
    assert.are.equal("auth", err.kind)
    assert.truthy(err.message:find(elsewhere.url, 1, true), err.message)
    local n, with_auth = reached_elsewhere()
    assert.are.equal(0, with_auth)
    assert.are.equal(0, n)
  end

  it("send no key or token to a statusUrl on another port of api_url's host", function()
    local emu = helper.start { job_seconds = 0.3, extra = { ["public-url"] = elsewhere.url } }
    finally(function() emu:stop() end)
    refused_without_sending(emu:client())
  end)

  local have_openssl = os.execute("openssl version >/dev/null 2>&1")
  have_openssl = have_openssl == true or have_openssl == 0
  local check = have_openssl and it or pending
  check("send no key or token in clear text to a plain-http statusUrl when api_url is https", function()
    local dir = helper.tmpdir()
    finally(function() os.execute("rm -rf '" .. dir .. "'") end)
    assert(os.execute(("env -u LD_PRELOAD openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
      .. " -addext subjectAltName=IP:127.0.0.1 -keyout '%s/key.pem' -out '%s/cert.pem' >/dev/null 2>&1")
      :format(dir, dir)))
    local emu = helper.start { job_seconds = 0.3, extra = { ["tls-cert"] = dir .. "/cert.pem",
      ["tls-key"] = dir .. "/key.pem", ["public-url"] = elsewhere.url } }
    finally(function() emu:stop() end)
    assert.matches("^https://", emu.url)
    -- Even naming the plain origin in api_hosts does not allow clear text from an https api_url.
    refused_without_sending(emu:client { ca_file = dir .. "/cert.pem",
      api_hosts = { elsewhere.url:match("^http://(.+)$") } })
  end)
end)
