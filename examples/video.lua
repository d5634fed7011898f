-- Text to video: a five-second clip, saved as ./out/video-<seed>.mp4, with
-- progress on stderr. (The emulator's clips are placeholder PNG frames in an
-- MP4; Firefly's are real video.)
--
--   lua5.4 examples/video.lua "a paper boat drifting on a pond"
local launcher = require "firefly.launcher"

local prompt = arg[1] or "a paper boat drifting on a pond, cinematic"
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

local result, err = ff:generate_video({
  prompt = prompt,
  sizes = { { width = 540, height = 540 } },
  videoSettings = { cameraMotion = "camera zoom in", shotSize = "medium shot" },
}, {
  model_version = "video1_standard",
  on_progress = function(job)
    io.stderr:write(("video %s: %s%s\n"):format(job.id or "-", job.status,
      job.progress and (" " .. job.progress .. "%") or ""))
  end,
})
if not result then finish(err) end

os.execute("mkdir -p out")
local path = ("out/video-%d.mp4"):format(result.outputs[1].seed)
local ok, serr = result.outputs[1]:save(path)
if not ok then finish(serr) end
print(path)
finish()
