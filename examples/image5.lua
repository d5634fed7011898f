-- Image 5: the same ff:generate_images, with model_version = "image5" (the
-- client sends it to /v4/images/generate-async, where that model lives), and a
-- reference image from a local file.
--
--   lua5.4 examples/image5.lua ["a prompt"] [reference.png]
local launcher = require "firefly.launcher"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local prompt = arg[1] or "a lighthouse on a cliff at dawn, watercolor"
local reference = arg[2] or (here .. "/assets/hero.png")
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

local result, err = ff:generate_images({
  prompt = prompt,
  aspectRatio = "auto",                 -- with reference blobs: "auto" or none
  resolutionLevel = "1MP",
  modelSpecificPayload = { prompt_reasoner = "quality" },
  referenceBlobs = { { source = { path = reference }, usage = "general" } },
}, { model_version = "image5" })
if not result then finish(err) end

os.execute("mkdir -p out")
local out = result.outputs[1]
local path = ("out/image5-seed%d.png"):format(out.seed)
local ok, serr = out:save(path)
if not ok then finish(serr) end
print(path)
finish()
