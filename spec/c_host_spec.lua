-- test: once (a C program embedding Lua 5.4, whatever interpreter runs busted)
-- A C host with its own event loop (issue 10 item 4): examples/c_host/host.c
-- embeds Lua, runs examples/c_host/jobs.lua, and waits on the client's
-- descriptor in an epoll set of its own, bounded by ff:timeout(). The jobs
-- and the saves of their outputs all end, each once.
local helper = require "helpers.emulator"
local media = require "firefly.media"

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true or code == 0
end

-- Beside the emulator the build made (FIREFLY_EMULATOR names it).
local host = (os.getenv("FIREFLY_EMULATOR") or "build/bin/firefly-emulator")
  :gsub("firefly%-emulator$", "firefly-c-host")

describe("a C host with its own epoll loop", function()
  local dir
  before_each(function() dir = helper.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("runs four jobs and saves their outputs through ff:pollfd, ff:timeout and ff:step alone", function()
    assert.is_not_nil(helper.slurp(host), "the build makes " .. host)
    local out, ok = sh(("env -u FIREFLY_SERVICES_CLIENT_ID -u FIREFLY_SERVICES_CLIENT_SECRET "
      .. "FIREFLY_C_HOST_OUT='%s' '%s' examples/c_host/jobs.lua 2>&1"):format(dir, host))
    assert.is_true(ok, out)
    assert.truthy(out:find("c-host: 4 jobs, 0 failed, lost_events=0", 1, true), out)
    assert.truthy(out:find("c-host: %d+ wakes of the loop"), out)
    local names = helper.ls(dir)
    assert.are.equal(4, #names, table.concat(names, " "))
    for _, name in ipairs(names) do
      local bytes = helper.slurp(dir .. "/" .. name)
      assert.are.equal("image/png", media.check(bytes), name)
      assert.is_true(media.whole(bytes:sub(1, 32), bytes:sub(-16), #bytes), name)
    end
  end)

  it("stops with the script's error, not a crash, when the script raises inside step", function()
    local script = dir .. "/raises.lua"
    local f = assert(io.open(script, "w"))
    f:write([[local ff = require("firefly").new { client_id = "id", access_token = "token",
                                              api_url = "http://127.0.0.1:1" }
      return { pollfd = function() return ff:pollfd() end, timeout = function() return 0 end,
               step = function() error("the host's own bug") end }]])
    f:close()
    local out, ok = sh(("'%s' '%s' 2>&1"):format(host, script))
    assert.is_false(ok)
    assert.truthy(out:find("step: .*the host's own bug"), out)
  end)
end)
