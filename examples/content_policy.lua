-- Content policy: a 451 from Firefly is an answer about that request, not an
-- outage. This batch saves what it may and reports the rest, never retrying a
-- refused prompt. Against the emulator, "[emulator:unsafe]" in a prompt is
-- what Adobe's checks would refuse (Adobe ignores the words).
--
--   lua5.4 examples/content_policy.lua
local launcher = require "firefly.launcher"

local ff, emu = assert(launcher.client_or_emulator())

local prompts = {
  "a lighthouse on a cliff at dawn",
  "a crowd scene [emulator:unsafe]",
  "a paper boat on a puddle",
}

os.execute("mkdir -p out")
local refused = 0
for i, prompt in ipairs(prompts) do
  local result, err = ff:generate_images({ prompt = prompt, aspectRatio = "1:1", resolutionLevel = "1MP" },
    { model_version = "image5" })
  if result then
    local path = ("out/policy-%d.png"):format(i)
    assert(result.outputs[1]:save(path))
    print(path)
  elseif err.kind == "content_policy" then
    -- err.code is Adobe's reason: prompt_unsafe, prompt_entity_denied, legal_error, ...
    refused = refused + 1
    io.stderr:write(("refused (%s): %s\n"):format(err.code, prompt))
  else
    ff:close()
    if emu then emu.stop() end
    error(tostring(err))
  end
end
io.stderr:write(("%d saved, %d refused by content policy\n"):format(#prompts - refused, refused))
ff:close()
if emu then emu.stop() end
