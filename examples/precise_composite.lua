-- Precise composite: an object image put into the masked area of a background,
-- as it is (blend softens the edge). Every image comes from a local file,
-- uploaded first; composite inputs may be at most 10 MB each.
--
--   lua5.4 examples/precise_composite.lua [background.png mask.png object.png]
local launcher = require "firefly.launcher"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local background = arg[1] or (here .. "/assets/hero.png")
local mask = arg[2] or (here .. "/assets/hero-mask.png")
local object = arg[3] or (here .. "/assets/hero.png")
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

local result, err = ff:precise_composite {
  background = { image = { source = { path = background } }, fillAreaMask = { source = { path = mask } } },
  object = { image = { source = { path = object } } },
  blend = 0.3,
  numVariations = 2,
  output = { mediaType = "image/png" },
}
if not result then finish(err) end

os.execute("mkdir -p out")
for i, out in ipairs(result.outputs) do
  local path = ("out/precise-composite-%d.png"):format(i)
  local ok, serr = out:save(path)
  if not ok then finish(serr) end
  print(path)
end
finish()
