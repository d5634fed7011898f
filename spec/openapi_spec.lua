-- Adobe's documents load through `require` (lua/firefly/openapi/*.lua embed
-- the JSON), so the module works where its files are not files: a packed .love
-- archive, another working directory, a LuaRocks tree (issue 10, item 6).
local helper = require "helpers.emulator"
local openapi = require "firefly.openapi"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

describe("Adobe's documents", function()
  it("are embedded in Lua modules that hold each JSON file byte for byte", function()
    for _, name in ipairs(openapi.documents) do
      local text = require("firefly.openapi." .. name)
      package.loaded["firefly.openapi." .. name] = nil
      assert.are.equal(read(openapi.path(name)), text,
        name .. " is stale: run lua5.4 tools/import-openapi.lua --embed")
    end
  end)

  it("load through require alone, from another working directory, with no JSON file installed", function()
    local emu = helper.start { job_seconds = 0.2 }
    local tree = helper.tmpdir()
    local elsewhere = helper.tmpdir()
    -- Only the Lua modules, as an archive or a tree without the data files would have them.
    assert(sh(("cd lua && find firefly -name '*.lua' -exec cp --parents {} '%s' ';'"):format(tree)))
    assert.are.equal(0, #helper.ls(tree .. "/firefly/openapi") - #openapi.documents - 1) -- no .json
    local script = elsewhere .. "/run.lua"
    local f = assert(io.open(script, "w"))
    f:write(([[
      local firefly = require "firefly"
      local validate = require "firefly.validate"
      assert(validate.request("generate_images_v5", { prompt = "x", numVariations = 2 },
        { model_version = "image5" }), "Image 5's schema did not load")
      local ff = firefly.new { client_id = %q, client_secret = %q, api_url = %q, ims_url = %q, poll_interval = 0.1 }
      local r = assert(ff:generate_images { prompt = "a lantern", style = { presets = { "bw" } } })
      ff:close()
      io.write("outputs=", #r.outputs, "\n")
    ]]):format(emu.client_id, emu.client_secret, emu.url, emu.url))
    f:close()
    local interp = helper.lua
    local cmd = ("cd '%s' && LUA_PATH='%s/?.lua;%s/?/init.lua;;' %s run.lua 2>&1"):format(elsewhere, tree, tree, interp)
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    emu:stop()
    os.execute(("rm -rf '%s' '%s'"):format(tree, elsewhere))
    assert.are.equal("outputs=1\n", out)
  end)
end)
