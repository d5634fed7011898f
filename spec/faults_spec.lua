-- Faults, one class at a time: the emulator injects exactly one (--faults-script)
-- and its log says what the client did about it: retried or not, how often,
-- which error came back. The submit rule above all: a submit that may have
-- been accepted is never resent unless the user asked for it.
local helper = require("helpers.emulator")

local SIZE = { width = 64, height = 64 }
local SUBMIT = "POST /v3/images/generate-async"

local function start(script, extra)
  local flags = { ["faults-script"] = script }
  for k, v in pairs(extra or {}) do flags[k] = v end
  return helper.start { job_seconds = 0.3, extra = flags }
end

-- Quick polls, so fault scenarios play out in a fraction of a second.
local function client(emu, extra)
  local o = { poll_interval = 0.1, poll_max = 0.3 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return emu:client(o)
end

local function generate(ff, opts)
  return ff:generate_images({ prompt = "a cat", size = SIZE }, opts)
end

-- Log entries for a method and path pattern, in order.
local function entries(emu, method, pattern)
  local list = {}
  for _, e in ipairs(emu:log()) do
    if e.method == method and e.path:find(pattern) then list[#list + 1] = e end
  end
  return list
end

local function submits(emu) return entries(emu, "POST", "^/v3/images/generate%-async$") end
local function polls(emu) return entries(emu, "GET", "^/v3/status/") end

-- Submits the emulator accepted (a job was made), answered or not.
local function accepted(emu)
  local n = 0
  for _, e in ipairs(submits(emu)) do
    if e.job_id then n = n + 1 end
  end
  return n
end

local function faults_of(list)
  local out = {}
  for _, e in ipairs(list) do out[#out + 1] = e.fault or "ok" end
  return table.concat(out, ",")
end

local tmpdir = helper.tmpdir

local ls = helper.ls

local function sha256(path)
  local p = io.popen("sha256sum '" .. path .. "'")
  local line = p:read("*l")
  p:close()
  return line:match("^(%x+)")
end

-- Runs fn(emu, ff) against a fresh emulator with this script and a fresh client.
local function with(script, flags, opts, fn)
  local emu = start(script, flags)
  local ff = client(emu, opts)
  local ok, err = pcall(fn, emu, ff)
  ff:close()
  emu:stop()
  if not ok then error(err, 0) end
end

describe("faults on a status poll", function()
  it("retries a 500 and the job still succeeds", function()
    with("GET /v3/status/*=500,500,ok", nil, nil, function(emu, ff)
      assert(generate(ff))
      assert.equals("500,500,ok", faults_of(polls(emu)):sub(1, 10))
    end)
  end)

  it("stops after max_retries and says how many attempts it made", function()
    with("GET /v3/status/*=500*9", nil, { max_retries = 1 }, function(emu, ff)
      local r, err = generate(ff)
      assert.is_nil(r)
      assert.equals("http", err.kind)
      assert.equals(500, err.status)
      assert.equals(2, err.attempts)
      assert.equals(2, #polls(emu))
    end)
  end)

  it("takes max_retries per call, over the client's", function()
    with("GET /v3/status/*=500,ok", nil, { max_retries = 4 }, function(emu, ff)
      local r, err = generate(ff, { max_retries = 0 })
      assert.is_nil(r)
      assert.equals(1, err.attempts)
      assert.equals(1, #polls(emu))
    end)
  end)

  it("retries a connection reset in the middle of the body", function()
    with("GET /v3/status/*=reset,ok", nil, nil, function(emu, ff)
      assert(generate(ff))
      assert.equals("reset,ok", faults_of(polls(emu)):sub(1, 8))
    end)
  end)

  it("retries a connection refused before the request was read", function()
    with("GET /v3/status/*=refuse,ok", nil, nil, function(emu, ff)
      assert(generate(ff))
      assert.equals("refuse,ok", faults_of(polls(emu)):sub(1, 9))
    end)
  end)

  it("reads past an unreadable status document", function()
    with("GET /v3/status/*=badjson,ok", nil, nil, function(emu, ff)
      assert(generate(ff))
      assert.equals("badjson,ok", faults_of(polls(emu)):sub(1, 10))
    end)
  end)

  it("retries a status answer that never ends, as a fault of that poll, and the job still succeeds", function()
    with("GET /v3/status/*=endless,ok", nil, nil, function(emu, ff)
      assert(generate(ff))
      assert.equals("endless,ok", faults_of(polls(emu)):sub(1, 10))
    end)
  end)

  it("names the job id when oversized status answers outlast max_retries, so ff:job can resume it", function()
    with("GET /v3/status/*=endless*2", nil, { max_retries = 1 }, function(emu, ff)
      local r, err = generate(ff)
      assert.is_nil(r)
      assert.equals("transport", err.kind)
      assert.equals(2, err.attempts)
      assert.equals(2, #polls(emu))
      local id = assert(submits(emu)[1].job_id)
      assert.equals(id, err.job_id)
      assert.truthy(tostring(err):find(id, 1, true), tostring(err))
      -- The job itself was never lost: re-attaching to it finishes it.
      assert(ff:job(err.job_id))
    end)
  end)

  it("fetches a new token after a 401 and goes on", function()
    with("GET /v3/status/*=401,ok", nil, nil, function(emu, ff)
      assert(generate(ff))
      assert.equals(2, #entries(emu, "POST", "^/ims/token/v3$"))
    end)
  end)
end)

describe("retry-after", function()
  it("waits the number of seconds the server asks for", function()
    with("GET /v3/status/*=429,ok", { ["fault-retry-after"] = 1 }, nil, function(emu, ff)
      assert(generate(ff))
      local p = polls(emu)
      assert.equals("429", p[1].fault)
      assert.is_true(p[2].time - p[1].time >= 0.95, "waited " .. (p[2].time - p[1].time))
    end)
  end)

  it("waits until the HTTP date the server names", function()
    with("GET /v3/status/*=429,ok", { ["fault-retry-after"] = 2, ["fault-retry-after-date"] = true }, nil,
      function(emu, ff)
        assert(generate(ff))
        local p = polls(emu)
        assert.is_true(p[2].time - p[1].time >= 1.9, "waited " .. (p[2].time - p[1].time))
      end)
  end)

  it("returns a rate_limited error carrying retry_after when the wait is past the cap", function()
    with(SUBMIT .. "=429", { ["fault-retry-after"] = 30 }, { retry_after_cap = 5 }, function(emu, ff)
      local r, err = generate(ff)
      assert.is_nil(r)
      assert.equals("rate_limited", err.kind)
      assert.equals(30, err.retry_after)
      assert.equals(1, err.attempts)
      assert.equals(1, #submits(emu))
    end)
  end)
end)

describe("the submit rule", function()
  it("resends a submit the server refused with 429 or 503", function()
    with(SUBMIT .. "=429,503,ok", { ["fault-retry-after"] = 0 }, nil, function(emu, ff)
      assert(generate(ff))
      assert.equals("429,503,ok", faults_of(submits(emu)))
      assert.equals(1, accepted(emu))
    end)
  end)

  it("does not resend a submit answered with a 500", function()
    with(SUBMIT .. "=500", nil, nil, function(emu, ff)
      local r, err = generate(ff)
      assert.is_nil(r)
      assert.equals("http", err.kind)
      assert.equals(1, err.attempts)
      assert.equals(1, #submits(emu))
    end)
  end)

  it("returns unknown_outcome, not resent, when the answer to an accepted submit is lost", function()
    with(SUBMIT .. "=reset_after_accept", nil, nil, function(emu, ff)
      local r, err = generate(ff)
      assert.is_nil(r)
      assert.equals("unknown_outcome", err.kind)
      assert.equals(1, err.attempts)
      assert.equals(1, #submits(emu))
      assert.equals(1, accepted(emu))
    end)
  end)

  it("does not resend it on a kept-alive connection either (libcurl would, silently)", function()
    with(SUBMIT .. "=ok,reset_after_accept,refuse", nil, nil, function(emu, ff)
      assert(generate(ff))
      local _, err = generate(ff)
      assert.equals("unknown_outcome", err.kind)
      _, err = generate(ff)
      assert.equals("unknown_outcome", err.kind)
      assert.equals("ok,reset_after_accept,refuse", faults_of(submits(emu)))
    end)
  end)

  it("returns unknown_outcome for a submit whose answer is cut, stalls or is not JSON", function()
    with(SUBMIT .. "=reset,stall,badjson", { ["fault-stall-seconds"] = 3 }, { stall_timeout = 1 },
      function(emu, ff)
        for _ = 1, 3 do
          local _, err = generate(ff)
          assert.equals("unknown_outcome", err.kind)
        end
        assert.equals(3, #submits(emu))
        assert.equals(3, accepted(emu))
      end)
  end)

  it("resends once after a lost answer when retry_unknown_outcome is set", function()
    with(SUBMIT .. "=reset_after_accept,reset_after_accept", nil, { retry_unknown_outcome = true },
      function(emu, ff)
        local r, err = generate(ff)
        assert.is_nil(r)
        assert.equals("unknown_outcome", err.kind)
        assert.equals(2, err.attempts)
        assert.equals(2, accepted(emu))
        assert(generate(ff))
        assert.equals(3, accepted(emu))
      end)
  end)
end)

describe("jobs that end badly", function()
  it("reports a failed job", function()
    with(SUBMIT .. "=job_failed", nil, nil, function(_, ff)
      local _, err = generate(ff)
      assert.equals("job_failed", err.kind)
      assert.equals("runtime_error", err.code)
    end)
  end)

  it("reports a job that timed out on the server as a timeout, its status in Adobe's examples", function()
    with(SUBMIT .. "=job_timeout", nil, nil, function(_, ff)
      local _, err = generate(ff)
      assert.equals("timeout", err.kind)
      assert.equals("timeout_error", err.code)
    end)
  end)

  it("cancels a job stuck in running at its deadline", function()
    with(SUBMIT .. "=stuck", nil, nil, function(emu, ff)
      local _, err = generate(ff, { timeout = 1 })
      assert.equals("timeout", err.kind)
      -- The cancel goes out as the error comes back; give it a moment to land.
      for _ = 1, 20 do
        if #entries(emu, "PUT", "^/v3/cancel/") > 0 then break end
        ff:step(0.1)
      end
      assert.equals(1, #entries(emu, "PUT", "^/v3/cancel/"))
    end)
  end)
end)

describe("faults on a download", function()
  local function save(script, flags, opts)
    local dir = tmpdir()
    local path = dir .. "/out.png"
    local emu = start(script, flags)
    local ff = client(emu, opts)
    local r = assert(generate(ff))
    local ok, err = r.outputs[1]:save(path)
    local gets = entries(emu, "GET", "^/outputs/")
    ff:close()
    emu:stop()
    return ok, err, gets, path, dir
  end

  it("retries a truncated body, and the saved file is the emulator's, byte for byte", function()
    local ok, err, gets, path, dir = save("GET /outputs/*=truncate,ok")
    assert(ok, tostring(err))
    assert.equals("truncate,ok", faults_of(gets))
    assert.equals(gets[2].sha256, sha256(path))
    assert.same({ "out.png" }, ls(dir))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("retries a body that stalls past the stall timeout", function()
    local ok, err, gets, path, dir = save("GET /outputs/*=stall,ok", { ["fault-stall-seconds"] = 3 },
      { stall_timeout = 1 })
    assert(ok, tostring(err))
    assert.equals("stall,ok", faults_of(gets))
    assert.equals(gets[2].sha256, sha256(path))
    assert.same({ "out.png" }, ls(dir))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("does not retry an expired URL, says why, and leaves no partial file", function()
    local ok, err, gets, _, dir = save("GET /outputs/*=expired")
    assert.is_nil(ok)
    assert.equals("http", err.kind)
    assert.equals(403, err.status)
    assert.matches("expire", err.message)
    assert.equals(1, #gets)
    assert.same({}, ls(dir))
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("faults on a custom models page", function()
  it("retries a page that never ends, as a GET creates nothing", function()
    with("GET /v3/custom-models=endless,ok", nil, nil, function(emu, ff)
      local page = assert(ff:list_custom_models())
      assert.is_table(page.custom_models)
      assert.equals("endless,ok", faults_of(entries(emu, "GET", "^/v3/custom%-models")))
    end)
  end)
end)

describe("an IMS outage", function()
  it("retries the token request until IMS is back", function()
    with("POST /ims/token/v3=ims_down,ims_down,ok", nil, nil, function(emu, ff)
      assert(generate(ff))
      assert.equals("ims_down,ims_down,ok", faults_of(entries(emu, "POST", "^/ims/token/v3$")))
    end)
  end)

  it("retries a token answer that never ends", function()
    with("POST /ims/token/v3=endless,ok", nil, nil, function(emu, ff)
      assert(generate(ff))
      assert.equals("endless,ok", faults_of(entries(emu, "POST", "^/ims/token/v3$")))
    end)
  end)

  it("gives up after max_retries with the 503", function()
    with("POST /ims/token/v3=ims_down*9", nil, { max_retries = 1 }, function(emu, ff)
      local r, err = generate(ff)
      assert.is_nil(r)
      assert.equals(503, err.status)
      assert.equals(2, err.attempts)
      assert.equals(2, #entries(emu, "POST", "^/ims/token/v3$"))
      assert.equals(0, #submits(emu))
    end)
  end)
end)
