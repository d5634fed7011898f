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

  -- The same checks for both ways of running the game: every PNG valid, the texture loaded, no event lost.
  local function check(out)
    io.stderr:write("\n[love] ", out:match("frames=[^\n]*") or out, "\n")
    assert.matches("rc=0", out)
    assert.matches("lost_events=0 saved=16 failed=0 texture=64x64", out)
    local pngs = helper.ls(dir)
    assert.are.equal(16, #pngs)
    for _, name in ipairs(pngs) do
      local bytes = helper.slurp(dir .. "/" .. name)
      assert.are.equal("\137PNG\r\n\26\n", bytes:sub(1, 8), name)
      assert.are.equal("IEND", bytes:sub(-8, -5), name)
      os.remove(dir .. "/" .. name)
    end
  end

  it("runs 16 jobs from love.update, saves every output without blocking and loses no event", function()
    if not available() then return pending("love, xvfb-run or the LuaJIT build of the core is missing") end
    local root = sh("pwd"):gsub("%s+$", "")
    local before = emu:count("POST", "^/v3/images/generate%-async$")
    check(sh(("env -u LD_PRELOAD xvfb-run -a love spec/hosts/love '%s' '%s' '%s' 2>&1; echo rc=$?")
      :format(root, emu.url, dir)))
    assert.are.equal(before + 16, emu:count("POST", "^/v3/images/generate%-async$"))
  end)

  -- Item 6 of issue 10: the game and every firefly Lua module zipped into one
  -- .love, run from another working directory, with nothing of the checkout
  -- on package.path and only core.so on package.cpath (a C module cannot be
  -- loaded from inside a zip; a packed game ships it beside the archive).
  it("runs the same from a packed .love, in another working directory, with only core.so beside it", function()
    if not available() then return pending("love, xvfb-run or the LuaJIT build of the core is missing") end
    if not sh("command -v zip >/dev/null && echo yes"):match("yes") then return pending("zip is missing") end
    local root = sh("pwd"):gsub("%s+$", "")
    local stage, run = helper.tmpdir(), helper.tmpdir()
    finally(function() os.execute(("rm -rf '%s' '%s'"):format(stage, run)) end)
    assert.matches("rc=0", sh(("cp spec/hosts/love/main.lua spec/hosts/love/conf.lua '%s' && cp -r lua/firefly '%s' "
      .. "&& cd '%s' && zip -qr '%s/game.love' main.lua conf.lua firefly 2>&1; echo rc=$?")
      :format(stage, stage, stage, run)))
    assert.matches("rc=0", sh(("mkdir -p '%s/lib/firefly' && cp build/lib/jit/firefly/core.so '%s/lib/firefly/'; "
      .. "echo rc=$?"):format(run, run)))
    local before = emu:count("POST", "^/v3/images/generate%-async$")
    local out = sh(("cd '%s' && env -u LD_PRELOAD -u LUA_PATH -u LUA_CPATH xvfb-run -a love game.love - '%s' '%s' "
      .. "2>&1; echo rc=$?"):format(run, emu.url, dir))
    check(out)
    assert.are.equal(before + 16, emu:count("POST", "^/v3/images/generate%-async$"))
    -- The modules came out of the archive, not from the checkout or any tree on disk.
    local from = out:match("firefly_from=([^\n]*)")
    assert.is_truthy(from, out)
    assert.is_nil(from:find(root, 1, true), from)
    assert.is_nil(from:find("^@/"), from)
  end)
end)
