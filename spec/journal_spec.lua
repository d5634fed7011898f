-- The journal (issue 4): a pipeline killed mid-batch (SIGKILL, no chance to
-- clean up) and run again re-attaches to the jobs it had submitted instead of
-- submitting them twice, then carries on; every output ends up on disk.
local helper = require "helpers.emulator"

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end

local interp = helper.lua

local function lines(path)
  local n = 0
  for _ in (helper.slurp(path) or ""):gmatch("[^\n]+") do n = n + 1 end
  return n
end

describe("journal", function()
  local emu, dir

  before_each(function()
    emu = helper.start { job_seconds = 3 }
    dir = sh("mktemp -d"):gsub("%s+$", "")
    os.execute("mkdir -p '" .. dir .. "/out'")
  end)
  after_each(function()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("re-attaches after a SIGKILL mid-batch: no job submitted twice, every output saved", function()
    local cmd = ("%s spec/fixtures/journal_child.lua '%s' '%s'"):format(interp, emu.url, dir)
    local pid = tonumber(sh(cmd .. " >/dev/null 2>&1 & echo $!"))
    -- Three jobs in flight (concurrency 3), each recorded: kill it now.
    local deadline = helper.now() + 20
    while lines(dir .. "/journal.jsonl") < 3 and helper.now() < deadline do helper.sleep(0.05) end
    assert.are.equal(3, lines(dir .. "/journal.jsonl"))
    os.execute("kill -9 " .. pid)
    helper.sleep(0.2)
    assert.are.equal(3, emu:count("POST", "^/v3/images/generate%-async$"))
    assert.are.equal("", sh("ls '" .. dir .. "/out'"))

    local out = sh(cmd .. " 2>&1; echo rc=$?")
    assert.matches("done 6 failed 0", out)
    assert.matches("rc=0", out)
    -- Six prompts, six submits over both runs: the three killed jobs were re-attached.
    assert.are.equal(6, emu:count("POST", "^/v3/images/generate%-async$"))
    local ids = {}
    for _, e in ipairs(emu:log()) do
      if e.method == "POST" and e.path == "/v3/images/generate-async" then
        assert.is_nil(ids[e.job_id], "job submitted twice")
        ids[e.job_id] = true
      end
    end
    for i = 1, 6 do
      assert.are.equal("\137PNG", (helper.slurp(("%s/out/%d.png"):format(dir, i)) or ""):sub(1, 4))
    end
  end)

  it("re-attaches a request with a {path} source after a SIGKILL: one upload, one submit", function()
    local cmd = ("%s spec/fixtures/journal_expand_child.lua '%s' '%s'"):format(interp, emu.url, dir)
    local pid = tonumber(sh(cmd .. " >/dev/null 2>&1 & echo $!"))
    local deadline = helper.now() + 20
    while lines(dir .. "/journal.jsonl") < 1 and helper.now() < deadline do helper.sleep(0.05) end
    os.execute("kill -9 " .. pid)
    assert.are.equal(1, emu:count("POST", "^/v3/images/expand%-async$"))
    assert.matches("saved", sh(cmd .. " 2>&1"))
    assert.are.equal(1, emu:count("POST", "^/v3/images/expand%-async$"))
    assert.are.equal(1, emu:count("POST", "^/v2/storage/image$"))
    assert.are.equal("\137PNG", (helper.slurp(dir .. "/out/1.png") or ""):sub(1, 4))
  end)
end)

describe("journal retirement", function()
  local emu, dir
  local cache = require "firefly.cache"
  local cjson = require "cjson"

  before_each(function()
    emu = helper.start { job_seconds = 0.2 }
    dir = helper.tmpdir()
  end)
  after_each(function()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function client(extra)
    local o = { journal = dir .. "/journal.jsonl" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return emu:client(o)
  end
  local function submits() return emu:count("POST", "^/v3/images/generate%-async$") end
  local BODY = { prompt = "an unseeded fox", size = { width = 16, height = 16 } }

  -- An entry as an earlier run would have written it, for this request.
  local function entry(fields)
    local e = { key = cache.key("generate_images", nil, BODY), op = "generate_images", job_id = "urn:ff:jobs:old" }
    for k, v in pairs(fields) do e[k] = v end
    local f = assert(io.open(dir .. "/journal.jsonl", "ab"))
    f:write(cjson.encode(e), "\n")
    f:close()
  end

  it("retires a job once its outputs are saved, so a re-run of an unseeded prompt makes a new one", function()
    local ff = client()
    local r = assert(ff:generate_images(BODY))
    assert(r.outputs[1]:save(dir .. "/1.png"))
    ff:close()
    ff = client()
    local again = assert(ff:generate_images(BODY))
    ff:close()
    assert.are_not.equal(r.job_id, again.job_id)
    assert.are.equal(2, submits())
    assert.matches('"retired":"saved"', helper.slurp(dir .. "/journal.jsonl"))
  end)

  it("keeps a finished job whose outputs were never saved: a re-run gets the same job, paid once", function()
    local ff = client()
    local r = assert(ff:generate_images(BODY))
    ff:close()
    ff = client()
    local again = assert(ff:generate_images(BODY))
    ff:close()
    assert.are.equal(r.job_id, again.job_id)
    assert.are.equal(1, submits())
  end)

  it("reports an entry of another api_url once, retires it and submits the request here", function()
    entry { status_url = "http://127.0.0.1:1/v3/status/old", api_url = "http://127.0.0.1:1" }
    local ff = client()
    assert(ff:generate_images(BODY))
    ff:close()
    assert.are.equal(1, submits())
    local text = helper.slurp(dir .. "/journal.jsonl")
    assert.matches('"retired":"another api_url"', text)
    -- A third run neither reports it again nor resubmits: it re-attaches to this service's job.
    ff = client()
    assert(ff:generate_images(BODY))
    ff:close()
    assert.are.equal(1, submits())
    local _, n = helper.slurp(dir .. "/journal.jsonl"):gsub('"retired"', "")
    assert.are.equal(1, n)
  end)

  it("does not resubmit a job of this api_url whose status host cannot be reached, and says why", function()
    entry { status_url = "http://127.0.0.1:1/v3/status/old", api_url = emu.url }
    local ff = client { max_retries = 0 }
    local r, err = ff:generate_images(BODY)
    ff:close()
    assert.is_nil(r)
    assert.matches("could not be re%-attached", err.message)
    assert.matches("journal", err.message)
    assert.are.equal(0, submits())
  end)
end)
