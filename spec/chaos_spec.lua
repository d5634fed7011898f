-- The chaos run, CI-sized: 200 jobs, 64 in flight, one request in five
-- faulted. `make chaos` is the full run (2,000 jobs); bench/chaos.lua says
-- what must hold, and exits non-zero when any of it does not.
describe("a chaos run of 200 jobs under a 20% fault mix", function()
  it("ends every job, resends no accepted submit, saves only exact outputs and leaks no secret", function()
    local interp = require("helpers.emulator").lua
    local p = io.popen(interp .. " bench/chaos.lua 200 64 0.2 2>&1")
    local out = p:read("*a")
    local ok = p:close()
    local last = out:match("(jobs=[^\n]*)") or ""
    assert.is_truthy(ok, out)
    assert.matches("jobs=200 ", last)
    assert.matches(" duplicate_submits=0 ", last)
    assert.matches(" lost=0 ", last)
    assert.is_true(tonumber(last:match("faults=(%d+)")) > 0, out)
    assert.matches("mismatched=0 part_files=0", out)
    assert.matches(": 0 found", out)
  end)
end)
