-- Object composite: place a product shot (a local file) into a generated scene.
--
--   lua5.4 examples/object_composite.lua [product.png]
local launcher = require "firefly.launcher"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local input = arg[1] or (here .. "/assets/hero.png")
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

local result, err = ff:generate_object_composite {
  image = { source = { path = input } },
  prompt = "on a marble kitchen counter, morning light",
  contentClass = "photo",
  size = { width = 128, height = 128 },
  placement = { inset = { left = 16, top = 16, right = 16, bottom = 16 } },
}
if not result then finish(err) end

os.execute("mkdir -p out")
local path = ("out/composite-seed%d.png"):format(result.outputs[1].seed)
local ok, serr = result.outputs[1]:save(path)
if not ok then finish(serr) end
print(path)
finish()
