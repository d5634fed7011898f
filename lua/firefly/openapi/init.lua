-- Adobe's OpenAPI documents (and the style preset list) as decoded Lua tables:
-- `require("firefly.openapi").image_generation_async_v3`. The JSON files beside
-- this module are Adobe's stripped documents, byte for byte (tools/import-openapi.lua
-- refreshes them); the same files feed the Prism conformance run. Each is read
-- and decoded on first use, so a client that validates one operation never
-- parses the other specs.

local cjson = require "cjson"

-- Lua-friendly name -> Adobe's file name.
local FILES = {
  custom_models_listing = "custom_models_listing.json",
  firefly_api = "firefly-api.json", -- Adobe's combined 2026 document: the truth for every path it has
  ff_api_open_api3 = "FFApiOpenApi3.json",
  generate_object_composite_async_v3 = "generate_object_composite_async_v3.json",
  generate_similar_async_v3 = "generate_similar_async_v3.json",
  generate_video_api = "generate_video_api.json",
  generative_expand_async_v3 = "generative_expand_async_v3.json",
  generative_fill_async_v3 = "generative_fill_async_v3.json",
  image_generation_async_v3 = "image_generation_async_v3.json",
  style_presets = "style_presets.json",
  upload_image = "upload_image.json",
}

local openapi = { documents = {} }
for name in pairs(FILES) do openapi.documents[#openapi.documents + 1] = name end
table.sort(openapi.documents)

-- The folder this file was loaded from, wherever it is installed.
local here = (debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./")
openapi.dir = here

function openapi.path(name)
  return FILES[name] and here .. FILES[name]
end

return setmetatable(openapi, {
  __index = function(self, name)
    local path = openapi.path(name)
    if not path then return nil end
    local f = assert(io.open(path, "rb"))
    local doc = cjson.decode(f:read("*a"))
    f:close()
    rawset(self, name, doc)
    return doc
  end,
})
