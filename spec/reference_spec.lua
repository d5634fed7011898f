-- test: once (it compares the documented interface with the Lua layer, the same on every interpreter)
-- types/firefly.d.lua and docs/reference.md (tools/reference.lua, from docs/api.lua)
-- describe the interface the code has: every public method of a client, a job
-- and an output is documented, and nothing documented is missing.
local helper = require "helpers.emulator"

local types = helper.slurp("types/firefly.d.lua")
local manual = helper.slurp("docs/reference.md")

local function public_methods(mt)
  local names = {}
  for k, v in pairs(mt) do
    if type(v) == "function" and type(k) == "string" and not k:match("^_") then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

local function documented(class)
  local names = {}
  for name in types:gmatch("\nfunction " .. class .. ":([%w_]+)%(") do names[#names + 1] = name end
  table.sort(names)
  return names
end

describe("the types file and the manual", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.2 } end)
  teardown(function() helper.close(emu, ff) end)

  it("document every public method of a client, and no other", function()
    assert.are.same(public_methods(getmetatable(ff)), documented("Client"))
    for _, name in ipairs(documented("Client")) do
      assert.truthy(manual:find("`ff:" .. name .. "(", 1, true), "docs/reference.md lacks ff:" .. name)
    end
  end)

  it("document every method of a job, a result's output and nothing more", function()
    local job = assert(ff:generate_images({ prompt = "a kite", size = { width = 64, height = 64 } }, { wait = false }))
    local r = assert(job:wait())
    assert.are.same(public_methods(getmetatable(job)), documented("Job"))
    assert.are.same(public_methods(getmetatable(r.outputs[1])), documented("Output"))
  end)

  it("are what tools/reference.lua makes now (tools/fresh-check --write rewrites them)", function()
    local dir = helper.tmpdir()
    finally(function() os.execute("rm -rf '" .. dir .. "'") end)
    local p = io.popen("lua5.4 tools/reference.lua '" .. dir .. "' 2>&1")
    local out = p:read("*a")
    p:close()
    local stale = "stale: run tools/fresh-check --write and commit the result. " .. out
    assert.are.equal(helper.slurp(dir .. "/types/firefly.d.lua"), types, "types/firefly.d.lua is " .. stale)
    assert.are.equal(helper.slurp(dir .. "/docs/reference.md"), manual, "docs/reference.md is " .. stale)
  end)

  it("are linked from the README", function()
    assert.truthy(helper.slurp("README.md"):find("docs/reference.md", 1, true))
    assert.truthy(helper.slurp("README.md"):find("types/firefly.d.lua", 1, true))
  end)
end)
