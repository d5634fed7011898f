-- Security: what a hostile or mistaken server cannot make the client do.
-- It does not buffer an endless body, it sends no credential to an output
-- host or across a redirect, and it verifies TLS unless told whom to trust.
local helper = require("helpers.emulator")

local SIZE = { width = 64, height = 64 }

-- Quick polls, so fault scenarios play out in a fraction of a second.
local function client(emu, extra)
  local o = { poll_interval = 0.1, poll_max = 0.3 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return emu:client(o)
end

local function generate(ff)
  return ff:generate_images({ prompt = "a cat", size = SIZE })
end

local function generate_with(ff, opts)
  return ff:generate_images({ prompt = "a cat", size = SIZE }, opts)
end

-- This process's resident memory in KiB: C allocations count, not only Lua's.
local function rss_kib()
  local status = helper.slurp("/proc/self/status") or ""
  return tonumber(status:match("VmRSS:%s*(%d+)"))
end

local function outputs_logged(emu)
  local list = {}
  for _, e in ipairs(emu:log()) do
    if e.method == "GET" and e.path:find("^/outputs/") then list[#list + 1] = e end
  end
  return list
end

-- A port free a moment ago: an emulator that must know its own port before it
-- starts (to name it in --output-url) is given this one.
local function free_port()
  local probe = helper.start {}
  local port = probe.url:match(":(%d+)$")
  probe:stop()
  return port
end

local function sh(cmd)
  -- Under `make asan` the ASan runtime is preloaded; tools must not inherit it.
  local ok = os.execute("env -u LD_PRELOAD " .. cmd .. " >/dev/null 2>&1")
  return ok == true or ok == 0
end

describe("a hostile endless status body", function()
  it("is refused at the size cap instead of being buffered, on every attempt", function()
    local emu = helper.start { job_seconds = 0.3, extra = { ["faults-script"] = "GET /v3/status/*=endless*9" } }
    finally(function() emu:stop() end)
    local ff = client(emu, { max_retries = 2 })
    local before = rss_kib()
    local res, err = generate(ff)
    local grown = rss_kib() - before
    ff:close()
    assert.is_nil(res)
    assert.are.equal("transport", err.kind)
    assert.matches("larger than %d+ bytes", err.message)
    -- The cap is 8 MiB; the stream is endless. A bound, not a timing.
    assert.is_true(grown < 64 * 1024, "resident memory grew by " .. grown .. " KiB")
    local polls = 0
    for _, e in ipairs(emu:log()) do
      if e.path:find("^/v3/status/") then
        polls = polls + 1
        assert.are.equal("endless", e.fault)
      end
    end
    -- A poll past the cap is a fault of that poll (faults_spec): asked again up to max_retries, never buffered.
    assert.are.equal(3, polls)
  end)
end)

describe("credentials", function()
  it("never go to an output host", function()
    local port = free_port()
    local emu = helper.start { job_seconds = 0.3,
      extra = { "--port", port, "--output-url", "http://localhost:" .. port } }
    finally(function() emu:stop() end)
    local ff = client(emu)
    local res = assert(generate(ff))
    assert.matches("^http://localhost:" .. port .. "/outputs/", res.outputs[1].image.url)
    assert(res.outputs[1]:bytes())
    ff:close()
    local served = outputs_logged(emu)
    assert.is_true(#served >= 1)
    for _, e in ipairs(served) do
      assert.are.equal("localhost:" .. port, e.host)
      assert.is_false(e.auth_header)
    end
  end)

  it("never follow a redirect to another host", function()
    local emu = helper.start { job_seconds = 0.3, extra = { ["faults-script"] = "GET /outputs/*=redirect" } }
    finally(function() emu:stop() end)
    local ff = client(emu)
    local res = assert(generate(ff))
    local bytes = assert(res.outputs[1]:bytes())
    assert.are.equal("\137PNG", bytes:sub(1, 4))
    ff:close()
    local served = outputs_logged(emu)
    local port = emu.url:match(":(%d+)$")
    assert.are.equal(2, #served)
    assert.are.equal(302, served[1].status)
    assert.are.equal("redirect", served[1].fault)
    assert.are.equal("127.0.0.1:" .. port, served[1].host)
    assert.are.equal(200, served[2].status)
    assert.are.equal("localhost:" .. port, served[2].host)
    for _, e in ipairs(served) do assert.is_false(e.auth_header) end
  end)
end)

describe("TLS", function()
  local dir, emu
  local have_openssl = sh("openssl version")

  setup(function()
    if not have_openssl then return end
    local p = io.popen("mktemp -d")
    dir = p:read("*l")
    p:close()
    assert(sh(("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
      .. " -addext subjectAltName=IP:127.0.0.1 -keyout '%s/key.pem' -out '%s/cert.pem'"):format(dir, dir)),
      "openssl could not make a certificate")
    emu = helper.start { job_seconds = 0.3,
      extra = { ["tls-cert"] = dir .. "/cert.pem", ["tls-key"] = dir .. "/key.pem" } }
  end)

  teardown(function()
    if emu then emu:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  local function check(name, fn)
    if have_openssl then it(name, fn) else pending(name .. " (needs the openssl tool: apt-get install openssl)") end
  end

  check("serves HTTPS when given a certificate", function()
    assert.matches("^https://127%.0%.0%.1:%d+$", emu.url)
  end)

  check("is verified by default: an unknown certificate is a transport error", function()
    local ff = client(emu)
    local res, err = generate(ff)
    ff:close()
    assert.is_nil(res)
    assert.are.equal("transport", err.kind)
    assert.matches("certificate", err.message)
    for _, e in ipairs(emu:log()) do
      assert.is_nil(e.method, "no request got through the handshake")
    end
  end)

  check("trusts the certificate named by ca_file", function()
    local ff = client(emu, { ca_file = dir .. "/cert.pem" })
    local res = assert(generate(ff))
    assert(res.outputs[1]:bytes())
    ff:close()
  end)
end)

-- C reads a string up to its first NUL byte: "secret\0x" would authenticate as
-- "secret", and a save to "a.png\0b" would write a.png and report the other.
describe("a string with a NUL byte", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.2 } end)
  teardown(function() emu:stop() end)

  local function new(extra)
    return function() return client(emu, extra) end
  end

  it("is refused as a client secret, client id or token instead of being cut short", function()
    assert.has_error(new { client_secret = emu.client_secret .. "\0tail" },
      "firefly.new: option 'client_secret' contains a NUL byte")
    assert.has_error(new { client_id = emu.client_id .. "\0tail" },
      "firefly.new: option 'client_id' contains a NUL byte")
    assert.has_error(new { access_token = "tok\0en" }, "firefly.new: option 'access_token' contains a NUL byte")
    assert.are.equal(0, emu:count("POST", "^/ims/token/v3"))
  end)

  it("is refused as any string option of firefly.new or of a call, naming the option", function()
    for _, k in ipairs { "api_url", "ims_url", "ca_file", "proxy", "user_agent", "cache", "journal", "manifest" } do
      assert.has_error(new { [k] = "/x\0y" }, "firefly.new: option '" .. k .. "' contains a NUL byte")
    end
    local ff = client(emu)
    assert.has_error(function() generate_with(ff, { model_version = "image4_standard\0x" }) end,
      "ff:generate_images: option 'model_version' contains a NUL byte")
    ff:close()
    assert.are.equal(0, emu:count("POST", "^/v3/images/"))
  end)

  it("is refused as a save path, and no file is written under the cut name", function()
    local dir = helper.tmpdir()
    finally(function() os.execute("rm -rf '" .. dir .. "'") end)
    local ff = client(emu)
    local res = assert(generate(ff))
    local ok, msg = pcall(res.outputs[1].save, res.outputs[1], dir .. "/a.png\0.txt")
    ff:close()
    assert.is_false(ok)
    assert.matches("output:save: path contains a NUL byte", msg)
    assert.is_nil(msg:find("init.lua", 1, true), msg)
    assert.is_nil(msg:find("'download'", 1, true), msg)
    assert.are.same({}, helper.ls(dir))
  end)

  it("is refused in an image source path as a validation error, and nothing is uploaded", function()
    local ff = client(emu)
    local res, err = ff:upscale_image({ image = { source = { path = "examples/assets/hero.png\0.txt" } },
      seeds = { 1 } }, { wait = false })
    ff:close()
    assert.is_nil(res)
    assert.are.equal("validation", err.kind)
    assert.matches("contains a NUL byte", err.message)
    assert.are.equal(0, emu:count("POST", "^/v2/storage/image"))
  end)

  it("is refused as a job id or status URL", function()
    local ff = client(emu)
    assert.has_error(function() ff:job(emu.url .. "/v3/status/x\0y") end,
      "ff:job: the job id or status URL contains a NUL byte")
    assert.has_error(function() ff:job("abc\0d") end, "ff:job: the job id or status URL contains a NUL byte")
    ff:close()
  end)
end)

describe("a header value with a line break", function()
  it("is refused as a model_version by the core itself, before anything is sent", function()
    local emu, ff = helper.serve { job_seconds = 0.2 }
    finally(function() helper.close(emu, ff) end)
    -- The validator knows the model versions; the core must not rely on it (validation can lag Adobe).
    local ok, msg = pcall(ff._core.submit, ff._core, emu.url .. "/v3/images/generate-async", "{}",
      "image4_standard\r\nx-injected: 1")
    assert.is_false(ok)
    assert.matches("model_version contains a line break", msg)
    assert.are.equal(0, emu:count("POST", "^/v3/images/"))
  end)
end)
