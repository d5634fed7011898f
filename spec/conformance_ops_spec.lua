-- Every other Adobe document (similar, expand, fill, object composite, video,
-- upload, custom models) checked with a Prism proxy in front of the emulator,
-- one Prism per document; spec/conformance/documents.lua does the work.

local function have(cmd)
  local p = io.popen("command -v " .. cmd .. " 2>/dev/null")
  local out = p:read("*a")
  p:close()
  return out:match("%S") ~= nil
end

describe("conformance with each operation's OpenAPI document (Prism proxy)", function()
  if not (have("node") and have("npx")) then
    pending("node/npx not found: install Node.js to run the Prism conformance check")
    return
  end
  local f = io.open("spec/conformance/node_modules/.bin/prism", "r")
  if f then f:close() end

  local documents = require "conformance.documents"
  for _, doc in ipairs(documents.DOCUMENTS) do
    it(doc.name .. ": no violation in any request or response", function()
      assert(f, "Prism is missing: run `make deps` (npm ci --prefix spec/conformance)")
      local report = documents.run_document(doc)
      local text = documents.format(report)
      assert(report.ok, text)
      assert.are.equal(0, #report.violations, text)
    end)
  end
end)
