-- Generative fill: repaint the white part of a mask inside a local picture.
-- Both files are uploaded first; the result has the picture's size.
--
--   lua5.4 examples/fill.lua [image.png mask.png]
local launcher = require "firefly.launcher"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local image = arg[1] or (here .. "/assets/hero.png")
local mask = arg[2] or (here .. "/assets/hero-mask.png")
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

local result, err = ff:fill_image {
  image = { source = { path = image } },
  mask = { source = { path = mask }, invert = false },
  prompt = "a paper lantern",
  numVariations = 2,
}
if not result then finish(err) end

os.execute("mkdir -p out")
for i, output in ipairs(result.outputs) do
  local path = ("out/fill-%d.png"):format(i)
  local ok, serr = output:save(path)
  if not ok then finish(serr) end
  print(path)
end
finish()
