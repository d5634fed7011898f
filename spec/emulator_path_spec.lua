-- test: once (the emulator is one embedded Lua 5.4, whatever runs the client)
-- The emulator finds its own modules whatever LUA_PATH and LUA_CPATH a user
-- has set for another Lua (after `luarocks --lua-version=5.3 path`, say):
-- it reads FIREFLY_EMULATOR_LUA_PATH and FIREFLY_EMULATOR_LUA_CPATH instead.
local helper = require "helpers.emulator"

local exe = os.getenv("FIREFLY_EMULATOR") or "build/bin/firefly-emulator"

local function starts(env)
  local p = io.popen(env .. " " .. exe .. " --help 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("rc=(%d+)%s*$")), out
end

describe("the emulator's module search path", function()
  local dir
  before_each(function()
    dir = helper.tmpdir()
    -- A cjson that is not the emulator's: loading it is the failure.
    local f = assert(io.open(dir .. "/cjson.lua", "w"))
    f:write('error("loaded a cjson from the user\'s LUA_PATH")\n')
    f:close()
    f = assert(io.open(dir .. "/cjson.so", "w"))
    f:write("not a shared object\n")
    f:close()
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("ignores LUA_PATH and LUA_CPATH, versioned or not", function()
    local env = ("env LUA_PATH='%s/?.lua;;' LUA_CPATH='%s/?.so;;' LUA_PATH_5_4='%s/?.lua;;' LUA_CPATH_5_4='%s/?.so;;'")
      :format(dir, dir, dir, dir)
    local rc, out = starts(env)
    assert.are.equal(0, rc, out)
    assert.matches("%-%-port", out)
  end)

  it("reads FIREFLY_EMULATOR_LUA_PATH first", function()
    local rc, out = starts(("env FIREFLY_EMULATOR_LUA_PATH='%s/?.lua'"):format(dir))
    assert.are_not.equal(0, rc, out)
    assert.matches("loaded a cjson from the user's LUA_PATH", out, 1, true)
  end)

  it("reads FIREFLY_EMULATOR_LUA_CPATH before the default C path", function()
    local rc, out = starts(("env FIREFLY_EMULATOR_LUA_CPATH='%s/?.so'"):format(dir))
    assert.are_not.equal(0, rc, out)
    assert.matches("cjson.so", out, 1, true)
  end)
end)
