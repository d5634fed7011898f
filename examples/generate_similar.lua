-- Variations of a local picture: the file is uploaded first (source = {path = ...}),
-- then Firefly makes images like it. Saves them under ./out/.
--
--   lua5.4 examples/generate_similar.lua [image.png]
local launcher = require "firefly.launcher"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local input = arg[1] or (here .. "/assets/hero.png")
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

local result, err = ff:generate_similar_images({
  image = { source = { path = input } },
  numVariations = 2,
  size = { width = 128, height = 128 },
}, { model_version = "image3" })
if not result then finish(err) end

os.execute("mkdir -p out")
for i, output in ipairs(result.outputs) do
  local path = ("out/similar-%d-seed%d.png"):format(i, output.seed)
  local ok, serr = output:save(path)
  if not ok then finish(serr) end
  print(path)
end
finish()
