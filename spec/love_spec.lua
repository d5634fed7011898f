-- test: once (LÖVE brings its own LuaJIT, whatever interpreter runs busted)
-- A real LÖVE game in CI (issue 10 item 7): spec/hosts/love/ runs under
-- xvfb-run with LÖVE 11 (LuaJIT), 16 jobs stepped from love.update, every
-- output saved without blocking, one loaded as a texture.
local helper = require "helpers.emulator"

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end

local function available()
  return sh("command -v love >/dev/null && command -v xvfb-run >/dev/null && echo yes"):match("yes")
    and helper.slurp("build/lib/jit/firefly/core.so") ~= nil
end

describe("a LÖVE game", function()
  local emu, dir
  setup(function()
    emu = helper.start { job_seconds = 0.5 }
    dir = helper.tmpdir()
  end)
  teardown(function()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("runs 16 jobs from love.update, saves every output without blocking and loses no event", function()
    if not available() then return pending("love, xvfb-run or the LuaJIT build of the core is missing") end
    local root = sh("pwd"):gsub("%s+$", "")
    local out = sh(("env -u LD_PRELOAD xvfb-run -a love spec/hosts/love '%s' '%s' '%s' 2>&1; echo rc=$?")
      :format(root, emu.url, dir))
    io.stderr:write("\n[love] ", out:match("frames=[^\n]*") or out, "\n")
    assert.matches("rc=0", out)
    assert.matches("lost_events=0 saved=16 failed=0 texture=64x64", out)
    local pngs = helper.ls(dir)
    assert.are.equal(16, #pngs)
    for _, name in ipairs(pngs) do
      local bytes = helper.slurp(dir .. "/" .. name)
      assert.are.equal("\137PNG\r\n\26\n", bytes:sub(1, 8), name)
      assert.are.equal("IEND", bytes:sub(-8, -5), name)
    end
    assert.are.equal(16, emu:count("POST", "^/v3/images/generate%-async$"))
  end)
end)
