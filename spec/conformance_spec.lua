-- generate_images against Adobe's OpenAPI file, checked from outside: Prism
-- (spec/conformance, pinned in package.json) validates as a proxy every request
-- the Lua client sends and every emulator response on the spec'd paths.
-- The driver is spec/conformance/driver.lua; `spec/conformance/run.sh` runs it alone.

local function have(cmd)
  local p = io.popen("command -v " .. cmd .. " 2>/dev/null")
  local out = p:read("*a")
  p:close()
  return out:match("%S") ~= nil
end

describe("conformance with image_generation_async_v3.json (Prism proxy)", function()
  if not (have("node") and have("npx")) then
    pending("node/npx not found: install Node.js to run the Prism conformance check")
    return
  end

  it("finds no violation in any request or response", function()
    local prism = "spec/conformance/node_modules/.bin/prism"
    local f = io.open(prism, "r")
    assert(f, prism .. " is missing: run `make deps` (npm ci --prefix spec/conformance)")
    f:close()
    local driver = dofile("spec/conformance/driver.lua")
    local report = driver.run()
    local text = driver.format(report)
    assert(report.ok, text)
    assert.are.equal(0, #report.violations, text)
    assert.is_true(report.counts.forwarded > 0, text)
  end)
end)
