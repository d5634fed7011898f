-- test: once (Prism judges the wire, which is the same from every interpreter)
-- Conformance checked from outside with Stoplight Prism (pinned in
-- spec/conformance/package.json). Adobe's current document (firefly-api.json,
-- OpenAPI 3.1, 14 paths) is the truth: Prism as a validating proxy between the client
-- and the emulator judges 13 paths, both directions (spec/conformance/current.lua), and
-- Prism's validator judges the upload's recorded exchanges (spec/conformance/upload.lua).
-- The 2025 npm document stays for the deprecated sync paths (spec/conformance/sync.lua).

local function have(cmd)
  local p = io.popen("command -v " .. cmd .. " 2>/dev/null")
  local out = p:read("*a")
  p:close()
  return out:match("%S") ~= nil
end

describe("conformance (Prism)", function()
  if not have("node") then
    pending("node not found: install Node.js to run the Prism conformance check")
    return
  end
  local f = io.open("spec/conformance/node_modules/.bin/prism", "r")
  if f then f:close() end
  local driver = require "conformance.driver"

  it("with the current document: no violation beyond the known ones in any request the client sends "
    .. "or any emulator answer", function()
    assert(f, "Prism is missing: run `make deps` (npm ci --prefix spec/conformance)")
    local current = require "conformance.current"
    local report = current.run()
    local text = current.format(report)
    print("\n" .. text) -- the figures and the known violations, for the CI log
    assert(report.ok, text)
    assert.are.equal(0, #report.violations, text)
  end)

  it("with the current document: no violation in the upload's exchanges", function()
    assert(f, "Prism is missing: run `make deps` (npm ci --prefix spec/conformance)")
    local report = require("conformance.upload").run(require("firefly.openapi").path("firefly_api"))
    assert(report.ok, driver.format(report))
  end)

  it("with the npm document: no violation on the deprecated sync paths", function()
    assert(f, "Prism is missing: run `make deps` (npm ci --prefix spec/conformance)")
    local report = require("conformance.sync").run()
    assert(report.ok, driver.format(report))
  end)
end)
