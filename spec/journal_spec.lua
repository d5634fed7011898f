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
end)
