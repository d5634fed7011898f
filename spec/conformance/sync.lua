-- Conformance of the deprecated synchronous v3 image paths (Adobe dropped them from its
-- docs on 2025-10-03; the emulator still serves them, the client does not) against the
-- one document that has them, the npm FFApiOpenApi3.json: one Prism proxy on it in
-- front of the emulator (driver.lua), raw requests for each path, and the same strict
-- reading of Prism's log as for the current document (current.judge), with no
-- violation known. Control: a body that document refuses must be logged.

local driver = require "conformance.driver"
local current = require "conformance.current"
local helper = require "helpers.emulator"
local openapi = require "firefly.openapi"

local M = {}
local slurp, sleep = helper.slurp, helper.sleep
local check = driver.check

M.SPEC = openapi.path("ff_api_open_api3")

local function bodies(id)
  local img = { source = { uploadId = id } }
  return {
    { "/v3/images/generate", { prompt = "a lighthouse", numVariations = 2, seeds = { 1, 2 },
      size = { width = 32, height = 32 }, contentClass = "art" } },
    { "/v3/images/generate-similar", { image = img, numVariations = 1, size = { width = 32, height = 32 } } },
    { "/v3/images/expand", { image = img, prompt = "a meadow", size = { width = 96, height = 64 } } },
    { "/v3/images/fill", { image = { source = { uploadId = id }, mask = { uploadId = id } }, prompt = "a kite" } },
    { "/v3/images/generate-object-composite",
      { image = img, prompt = "on a desk", size = { width = 40, height = 40 } } },
  }
end

function M.run()
  local report = { name = "FFApiOpenApi3.json (deprecated sync paths)", checks = {}, violations = {} }
  return driver.session({ spec = M.SPEC, errors = false }, report, function(emu, prism, proxy)
    local up = emu:api("POST", "/v2/storage/image", { headers = { ["Content-Type"] = "image/png" },
      body = slurp("spec/fixtures/hero.png") })
    local id = up.json and up.json.images[1].id
    for _, b in ipairs(bodies(id)) do
      local r = proxy:api("POST", b[1], { json = b[2] })
      check(report, r.status == 200 and r.json and r.json.outputs and #r.json.outputs >= 1,
        "POST " .. b[1] .. ": 200 with outputs", r.status .. " " .. r.body)
      check(report, r.headers["deprecation"] ~= nil, "POST " .. b[1] .. ": a Deprecation header",
        r.headers["deprecation"])
    end
    -- An empty body: 400 bad_request, as these paths' ApiError enum has it (issue 9 item 8).
    local e = proxy:api("POST", "/v3/images/generate",
      { headers = { ["Content-Type"] = "application/json" }, body = "" })
    check(report, e.status == 400 and e.json and e.json.error_code == "bad_request",
      "empty body: 400 bad_request", e.status .. " " .. e.body)
    sleep(0.3)
    local text = slurp(prism.logfile) or ""
    local verdict = current.judge(text, {})
    report.counts, report.violations = verdict.counts, {}
    for _, line in ipairs(verdict.unknown) do
      -- The empty body is refused by Prism too (the document requires one): expected.
      if not line:find("Violation: request Body parameter is required", 1, true) then
        report.violations[#report.violations + 1] = line
      end
    end
    check(report, #report.violations == 0, "Prism logged no violation", table.concat(report.violations, "\n"))
    check(report, verdict.counts.received == #bodies(id) + 1, "every request reached Prism",
      verdict.counts.received)

    local _, _, before = driver.scan_log(text)
    proxy:api("POST", "/v3/images/fill", { json = { prompt = "no image" } })
    sleep(0.3)
    local _, cbad = driver.scan_log(slurp(prism.logfile) or "", before)
    local seen = false
    for _, line in ipairs(cbad) do
      if line:find("Violation: request%.body") then seen = true end
    end
    check(report, seen, "control: a body without its image is logged as a violation", table.concat(cbad, "\n"))
  end)
end

return M
