-- Refresh Adobe's stripped OpenAPI documents in lua/firefly/openapi/.
--
-- usage: lua5.4 tools/import-openapi.lua <firefly-spec-dir> [out-dir]
--
-- Copies the nine stripped specs and style_presets.json byte for byte, so a
-- refresh after Adobe updates a spec shows up as a plain diff. Named
-- explicitly: a stray file in the spec folder never becomes part of the module.

local spec_dir, out_dir = arg[1], arg[2] or "lua/firefly/openapi"
if not spec_dir then
  io.stderr:write("usage: import-openapi.lua <firefly-spec-dir> [out-dir]\n")
  os.exit(2)
end

local sources = {
  "stripped/FFApiOpenApi3.json",
  "stripped/custom_models_listing.json",
  "stripped/firefly-api.json",
  "stripped/generate_object_composite_async_v3.json",
  "stripped/generate_similar_async_v3.json",
  "stripped/generate_video_api.json",
  "stripped/generative_expand_async_v3.json",
  "stripped/generative_fill_async_v3.json",
  "stripped/image_generation_async_v3.json",
  "stripped/upload_image.json",
  "style_presets.json",
}

for _, file in ipairs(sources) do
  local src = assert(io.open(spec_dir .. "/" .. file, "rb"))
  local text = src:read("*a")
  src:close()
  local dst = assert(io.open(out_dir .. "/" .. file:match("[^/]+$"), "wb"))
  dst:write(text)
  dst:close()
end
