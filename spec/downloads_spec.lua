-- Downloads from hostile servers (issue 8): every download to disk has a size
-- cap (max_download) and a deadline from its size and a minimum rate
-- (min_download_rate after stall_timeout); a body cut short, or longer than
-- its Content-Length, never ends as a whole file; an output URL is fetched
-- only when it is an https URL that parses (http when api_url is plain HTTP);
-- one that is not is the server's fault, an `http` error.
-- The emulator's faults, and spec/helpers/hostile.lua for what it cannot do.
local helper = require "helpers.emulator"
local hostile = require "helpers.hostile"
local firefly = require "firefly"
local result = require "firefly.result"

local SMALL = { width = 64, height = 64 }

local function leftovers(dir)
  local out = {}
  for _, n in ipairs(helper.ls(dir)) do
    if n:find("%.part%-") then out[#out + 1] = n end
  end
  return out
end

describe("a download to disk", function()
  local dir
  before_each(function() dir = helper.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("stops an endless output at max_download, saving nothing and leaving no temporary", function()
    local emu, ff = helper.serve({ job_seconds = 0.1, extra = { ["faults-script"] = "GET /outputs/*=endless" } },
      { max_download = 1024 * 1024 })
    local r = assert(ff:generate_images { prompt = "endless", size = SMALL })
    local ok, err = r.outputs[1]:save(dir .. "/out.png")
    assert.is_nil(ok)
    assert.are.equal("transport", err.kind)
    assert.truthy(tostring(err):find("larger than max_download", 1, true), tostring(err))
    assert.are.same({}, helper.ls(dir))
    -- Not retried: the same server would send the same endless body.
    assert.are.equal(1, emu:count("GET", "^/outputs/"))
    helper.close(emu, ff)
  end)

  it("ends a trickle below min_download_rate as a timeout, saving nothing", function()
    local srv = hostile.start("trickle")
    local ff, out = srv:output { stall_timeout = 1, min_download_rate = 1000, max_retries = 0 }
    local ok, err = out:save(dir .. "/out.png")
    assert.is_nil(ok)
    assert.are.equal("timeout", err.kind, tostring(err))
    assert.truthy(tostring(err):find("min_download_rate", 1, true), tostring(err))
    assert.are.same({}, helper.ls(dir))
    ff:close()
    srv:stop()
  end)

  it("never ends as a whole file when Content-Length promised less than the server sent", function()
    local srv = hostile.start("excess")
    local ff, out = srv:output()
    local ok, err = out:save(dir .. "/out.png")
    assert.is_nil(ok)
    assert.are.equal("transport", err.kind)
    assert.truthy(tostring(err):find("no end chunk", 1, true), tostring(err))
    assert.are.same({}, helper.ls(dir))
    -- A save the host steps (wait = false) is checked the same way, from the bytes the core saw go by.
    local op = assert(out:save(dir .. "/later.png", { wait = false }))
    ok, err = op:wait()
    assert.is_nil(ok)
    assert.truthy(tostring(err):find("no end chunk", 1, true), tostring(err))
    assert.are.same({}, helper.ls(dir))
    local bytes, berr = out:bytes()
    assert.is_nil(bytes)
    assert.are.equal("transport", berr.kind)
    ff:close()
    srv:stop()
  end)

  it("never ends as a whole file when the body is shorter than its Content-Length", function()
    local emu, ff = helper.serve({ job_seconds = 0.1, extra = { ["faults-script"] = "GET /outputs/*=truncate*9" } },
      { max_retries = 1 })
    local r = assert(ff:generate_images { prompt = "cut short", size = SMALL })
    local ok, err = r.outputs[1]:save(dir .. "/out.png")
    assert.is_nil(ok)
    assert.are.equal("transport", err.kind)
    assert.are.same({}, helper.ls(dir))
    assert.are.same({}, leftovers(dir))
    helper.close(emu, ff)
  end)
end)

describe("an output URL", function()
  it("that is a number (42) is never fetched", function()
    local srv = hostile.start("api42")
    local ff = firefly.new { client_id = "id", access_token = "token", api_url = srv.url:gsub("/$", ""),
                             poll_interval = 0.1 }
    local r = assert(ff:generate_images { prompt = "a number for a URL" })
    local dir = helper.tmpdir()
    local ok, err = r.outputs[1]:save(dir .. "/out.png")
    assert.is_nil(ok)
    assert.are.equal("http", err.kind, tostring(err))
    local _, berr = r.outputs[1]:bytes()
    assert.are.equal("http", berr.kind, tostring(berr))
    -- The submit and the polls reached the server; nothing else was fetched anywhere.
    for _, line in ipairs(srv:requests()) do
      assert.truthy(line:find("^POST /v3/images/generate%-async ") or line:find("^GET /v3/status/j42 "), line)
    end
    assert.are.same({}, helper.ls(dir))
    ff:close()
    srv:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("that is a number makes the CLI say so and exit 1, not crash", function()
    local srv = hostile.start("api42")
    local dir = helper.tmpdir()
    local interp = helper.lua
    local p = io.popen(("env -u FIREFLY_SERVICES_CLIENT_SECRET FIREFLY_SERVICES_CLIENT_ID=id "
      .. "FIREFLY_SERVICES_ACCESS_TOKEN=token FIREFLY_SERVICES_API_URL=%s %s bin/firefly generate 'a number' "
      .. "-o '%s' 2>&1; echo \"rc=$?\""):format(srv.url:gsub("/$", ""), interp, dir))
    local out = p:read("*a")
    p:close()
    assert.are.equal("1", out:match("rc=(%d+)%s*$"), out)
    assert.truthy(out:find("URL", 1, true), out)
    assert.falsy(out:find("traceback", 1, true), out)
    assert.are.same({}, helper.ls(dir))
    srv:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("is fetched only when it is https (http only when api_url is plain HTTP itself)", function()
    local srv = hostile.start("png")
    local https_ff = firefly.new { client_id = "id", access_token = "token", api_url = "https://127.0.0.1:1" }
    for _, url in ipairs { srv.url .. "out.png", "ftp://127.0.0.1/out.png", "file:///etc/passwd",
                           "not a url", "https://", "", 42 } do
      local out = result.new(https_ff, { outputs = { { url = url } } }).outputs[1]
      local bytes, err = out:bytes()
      assert.is_nil(bytes, url)
      assert.are.equal("http", err.kind, url .. ": " .. tostring(err))
    end
    assert.are.same({}, srv:requests())
    -- The same http URL, for a client whose API is plain HTTP on purpose (an emulator).
    local http_ff, out = srv:output()
    assert.are.equal(helper.slurp("spec/fixtures/hero.png"), assert(out:bytes()))
    assert.are.equal(1, #srv:requests())
    https_ff:close()
    http_ff:close()
    srv:stop()
  end)
end)
