-- Generate two images from a prompt and save them under ./out/.
--
--   lua5.4 examples/quickstart.lua "a watercolor fox in the snow"
--
-- With FIREFLY_SERVICES_CLIENT_ID and FIREFLY_SERVICES_CLIENT_SECRET set this
-- calls Adobe Firefly; without them it starts the bundled emulator, which
-- answers the same API with placeholder images and spends no quota.
local launcher = require "firefly.launcher"

local prompt = arg[1] or "a lighthouse on a cliff at dusk, watercolor"
local ff, emu = assert(launcher.client_or_emulator())

-- Stop the emulator (if we started one) before leaving, on success or not.
local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then
    io.stderr:write(tostring(err), "\n")
    os.exit(1)
  end
end

local result, err = ff:generate_images({
  prompt = prompt,
  numVariations = 2,
  size = { width = 1024, height = 1024 },
}, {
  on_progress = function(job)
    io.stderr:write(("job %s: %s%s\n"):format(job.id or "-", job.status,
      job.progress and (" " .. job.progress .. "%") or ""))
  end,
})
if not result then finish(err) end

os.execute("mkdir -p out")
for i, output in ipairs(result.outputs) do
  local path = ("out/quickstart-%d-seed%d.png"):format(i, output.seed)
  local ok, serr = output:save(path)
  if not ok then finish(serr) end
  print(path)
end
finish()
