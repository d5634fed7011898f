-- examples/asset_pipeline.lua run twice against one emulator: the second run
-- is answered from the cache and makes no submit (the emulator's log says so).
local helper = require "helpers.emulator"

local interp, libdir = helper.lua, helper.libdir

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  return out:gsub("rc=%d+%s*$", ""), tonumber(out:match("rc=(%d+)%s*$"))
end

describe("examples/asset_pipeline.lua", function()
  it("a second run is answered from the cache: no submit, every image still there", function()
    local emu = helper.start { job_seconds = 0.5 }
    local root = sh("pwd"):gsub("%s+$", "")
    local dir = sh("mktemp -d"):gsub("%s+$", "")
    local build = (os.getenv("FIREFLY_EMULATOR") or (root .. "/build/bin/firefly-emulator")):match("^(.*)/bin/[^/]+$")
    local cmd = ("cd '%s' && env FIREFLY_SERVICES_CLIENT_ID=%s FIREFLY_SERVICES_CLIENT_SECRET=%s "
      .. "FIREFLY_SERVICES_API_URL=%s FIREFLY_SERVICES_IMS_URL=%s LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' "
      .. "LUA_CPATH='%s/%s/?.so;;' %s '%s/examples/asset_pipeline.lua'")
      :format(dir, emu.client_id, emu.client_secret, emu.url, emu.url, root, root, build, libdir, interp, root)
    local out, rc = sh(cmd)
    assert.are.equal(0, rc, out)
    local submits = emu:count("POST", "^/v3/images/generate%-async$")
    assert.are.equal(6, submits)
    os.execute("rm -rf '" .. dir .. "/out'")
    local before = #emu:log()
    out, rc = sh(cmd)
    assert.are.equal(0, rc, out)
    assert.matches("6 from cache", out)
    assert.are.equal(before, #emu:log()) -- not a single request, not even a token
    local n = 0
    for path in out:gmatch("(out/assets/[%w_]+%.png)\n") do
      assert.are.equal("\137PNG", helper.slurp(dir .. "/" .. path):sub(1, 4))
      n = n + 1
    end
    assert.are.equal(6, n)
    os.execute("rm -rf '" .. dir .. "'")
    emu:stop()
  end)
end)
