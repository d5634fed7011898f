-- Upscale: a local image made 2, 3, 4 or 6 times larger (precise_upsampler_v1,
-- the one model Adobe serves since 2026-04-24). Outputs come in upscale's own
-- shape (id, presignedUrl, name); `out.url`, `out:save` and `out:bytes` work
-- on them as on every output.
--
--   lua5.4 examples/upscale.lua [image.png] [factor]
local launcher = require "firefly.launcher"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local input = arg[1] or (here .. "/assets/hero.png")
local factor = tonumber(arg[2] or "2")
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

-- wait = false: a job to watch, as a tool with a progress bar would.
local j, err = ff:upscale_image({ image = { source = { path = input } }, seeds = { 42 }, upscaleFactor = factor },
  { wait = false, on_progress = function(job) io.stderr:write(job.status, " ", job.progress or 0, "%\n") end })
if not j then finish(err) end
local result, werr = j:wait()
if not result then finish(werr) end

os.execute("mkdir -p out")
local path = ("out/upscaled-x%d.png"):format(factor)
local ok, serr = result.outputs[1]:save(path)
if not ok then finish(serr) end
print(path)
finish()
