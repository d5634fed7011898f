-- Generative expand: grow a local picture onto a larger canvas, keeping it at
-- the bottom centre. Saves the result under ./out/.
--
--   lua5.4 examples/expand.lua [image.png]
local launcher = require "firefly.launcher"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local input = arg[1] or (here .. "/assets/hero.png")
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

local result, err = ff:expand_image {
  image = { source = { path = input } },
  prompt = "a quiet harbour at dawn",
  size = { width = 160, height = 120 },
  placement = { alignment = { horizontal = "center", vertical = "bottom" } },
}
if not result then finish(err) end

os.execute("mkdir -p out")
local path = ("out/expand-%dx%d.png"):format(result.size.width, result.size.height)
local ok, serr = result.outputs[1]:save(path)
if not ok then finish(serr) end
print(path)
finish()
