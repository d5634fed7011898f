-- A game studio's asset build: prompts from a Lua table, a bounded number of
-- jobs at once, and three files that make re-runs cheap and safe:
--   cache    answers a request already made (same prompt, seed, size, model)
--            from disk: change one prompt and only that one is generated again;
--   journal  records each submitted job, so a build killed halfway re-attaches
--            to its jobs instead of paying for them twice;
--   manifest one JSON line per saved image: prompt, seed, job, sha256.
--
--   lua5.4 examples/asset_pipeline.lua     (run it twice: the second is instant)
--
-- Credentials or the bundled emulator: see examples/quickstart.lua.
local launcher = require "firefly.launcher"

local ASSETS = {
  { name = "sky_day", prompt = "a clear blue sky, soft clouds, game skybox", seed = 101 },
  { name = "sky_night", prompt = "a starry night sky, game skybox", seed = 102 },
  { name = "grass", prompt = "a seamless grass texture, top down", seed = 201 },
  { name = "rock", prompt = "a seamless mossy rock texture", seed = 202 },
  { name = "sand", prompt = "a seamless desert sand texture", seed = 203 },
  { name = "water", prompt = "a seamless shallow water texture", seed = 204 },
}

os.execute("mkdir -p out/assets .firefly")
local ff, emu = assert(launcher.client_or_emulator {
  cache = ".firefly/cache", journal = ".firefly/journal.jsonl", manifest = "out/assets/manifest.jsonl",
})

local results, errs, summary = ff:map(ASSETS, function(asset)
  local r, err = ff:generate_images { prompt = asset.prompt, seeds = { asset.seed },
    size = { width = 1024, height = 1024 } }
  if not r then return nil, err end
  return r.outputs[1]:save("out/assets/" .. asset.name .. ".png")
end, {
  concurrency = 4,
  on_progress = function(p)
    if p.event == "item" then
      io.stderr:write(("[%3d%%] %d/%d %s\n"):format(p.percent, p.done + p.failed, p.total, ASSETS[p.index].name))
    end
  end,
})

for i, asset in ipairs(ASSETS) do
  if results[i] then print(results[i]) else print(asset.name .. ": " .. tostring(errs[i])) end
end
print(("%d done, %d failed, %d from cache, in %.1f s")
  :format(summary.done, summary.failed, summary.cached, summary.elapsed))
ff:close()
if emu then emu.stop() end
os.exit(summary.failed == 0 and 0 or 1, true)
