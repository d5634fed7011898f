-- Adobe's OpenAPI documents (and the style preset list) as decoded Lua tables:
-- `require("firefly.openapi").firefly_api`. Each document is a Lua module beside
-- this one (`firefly.openapi.firefly_api` returns the JSON text), loaded through
-- `require`, never io.open: the client works from a packed .love archive, any
-- working directory and LuaRocks trees alike. tools/import-openapi.lua writes
-- those modules from the JSON files here, Adobe's stripped documents byte for
-- byte, which the Prism and Ajv runs of the test suite read (openapi.path).
-- Each is decoded on first use, so a client that validates one operation never
-- parses the other documents.

local cjson = require "firefly.json"

-- Lua-friendly name -> Adobe's file name.
local FILES = {
  firefly_api = "firefly-api.json", -- Adobe's combined 2026 document: the truth for every path it has
  ff_api_open_api3 = "FFApiOpenApi3.json",
  style_presets = "style_presets.json",
  upload_image = "upload_image.json",
}

local openapi = { documents = {}, files = FILES }
for name in pairs(FILES) do openapi.documents[#openapi.documents + 1] = name end
table.sort(openapi.documents)

-- The folder this file was loaded from, for the JSON files the test suite
-- hands Prism and Ajv; the client itself never reads them.
local here = (debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./")
openapi.dir = here

function openapi.path(name)
  return FILES[name] and here .. FILES[name]
end

return setmetatable(openapi, {
  __index = function(self, name)
    if not FILES[name] then return nil end
    local module = "firefly.openapi." .. name
    local doc = cjson.decode((require(module))) -- require gives 5.4 a second value
    package.loaded[module] = nil -- the decoded table is kept; the text need not be
    rawset(self, name, doc)
    return doc
  end,
})
