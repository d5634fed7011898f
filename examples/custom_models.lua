-- List the organisation's custom models (every page), then generate with the
-- first published one (x-model-version image3_custom + customModelId).
--
--   lua5.4 examples/custom_models.lua
local launcher = require "firefly.launcher"

local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

local chosen
local ok, err = pcall(function()
  for model in ff:custom_models { sortBy = "modifiedDate", limit = 2 } do
    io.stderr:write(("%-24s %-8s %s\n"):format(model.displayName, model.trainingMode, model.assetId))
    chosen = chosen or model
  end
end)
if not ok then finish(err) end
if not chosen then finish("no published custom model to generate with") end

local result, gerr = ff:generate_images({
  prompt = chosen.samplePrompt ~= "" and chosen.samplePrompt or "a product on a plain background",
  customModelId = chosen.assetId,
  size = { width = 128, height = 128 },
}, { model_version = "image3_custom" })
if not result then finish(gerr) end

os.execute("mkdir -p out")
local path = "out/custom-model.png"
local sok, serr = result.outputs[1]:save(path)
if not sok then finish(serr) end
print(path)
finish()
