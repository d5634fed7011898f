-- Many prompts, four jobs in flight at a time: ff:map runs the function for
-- each prompt in its own coroutine, and a generating call inside one yields
-- until its job is done while the others go on.
--
--   lua5.4 examples/coroutines.lua
--
-- Credentials or the bundled emulator: see examples/quickstart.lua.
local launcher = require "firefly.launcher"

local ff, emu = assert(launcher.client_or_emulator())

local prompts = {
  "a red potion bottle", "a blue potion bottle", "a golden key", "an iron sword",
  "a wooden shield", "a scroll with a wax seal",
}

os.execute("mkdir -p out")
local paths, errs = ff:map(prompts, function(prompt, i)
  local result, err = ff:generate_images {
    prompt = prompt .. ", game item icon, plain background",
    size = { width = 1024, height = 1024 },
  }
  if not result then return nil, err end
  print(("%d generated: %s"):format(i, prompt))
  return result.outputs[1]:save(("out/coroutines-%d.png"):format(i))
end, { concurrency = 4 })

local failed = 0
for i = 1, #prompts do
  if paths[i] then print(paths[i]) else print(("%d: %s"):format(i, tostring(errs[i]))); failed = failed + 1 end
end
ff:close()
if emu then emu.stop() end
os.exit(failed == 0 and 0 or 1, true) -- true: close the Lua state, finalizers run
