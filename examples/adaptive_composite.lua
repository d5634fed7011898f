-- Adaptive composite: an object put into a background and made to belong there
-- (harmonized light, a shadow), with an optional mask cutting the object out.
--
--   lua5.4 examples/adaptive_composite.lua [background.png mask.png object.png object-mask.png]
local launcher = require "firefly.launcher"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local background = arg[1] or (here .. "/assets/hero.png")
local mask = arg[2] or (here .. "/assets/hero-mask.png")
local object = arg[3] or (here .. "/assets/hero.png")
local object_mask = arg[4] or (here .. "/assets/hero-mask.png")
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

local result, err = ff:adaptive_composite {
  background = { image = { source = { path = background } }, fillAreaMask = { source = { path = mask } } },
  object = { image = { source = { path = object } }, mask = { source = { path = object_mask } } },
  harmonization = 0.6,
  shadowIntensity = 0.8,
  preserveBackground = true,
}
if not result then finish(err) end

os.execute("mkdir -p out")
local path = "out/adaptive-composite.png"
local bytes, berr = result.outputs[1]:bytes() -- or :save(path), streamed to disk
if not bytes then finish(berr) end
local f = assert(io.open(path, "wb"))
f:write(bytes)
f:close()
print(path)
finish()
