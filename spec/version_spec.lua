-- One version number, in lua/firefly/version.lua: the module, the C core
-- built for this interpreter and the released rockspec all carry it.
local version = require "firefly.version"

describe("the version", function()
  it("is the same in firefly._VERSION and in the C core built for this interpreter", function()
    assert.matches("^%d+%.%d+%.%d+$", version)
    assert.are.equal("firefly " .. version, require("firefly")._VERSION)
    assert.are.equal(version, require("firefly.core").version)
  end)

  it("names the released rockspec, which pins the tag v<version>", function()
    local f = assert(io.open("rockspec/firefly-" .. version .. "-1.rockspec", "r"))
    local text = f:read("*a")
    f:close()
    assert.matches('\nversion = "' .. version:gsub("%.", "%%.") .. '%-1"\n', text)
    assert.matches('\n  tag = "v' .. version:gsub("%.", "%%.") .. '",\n', text)
  end)
end)
