-- A chain: upload a local picture, expand it onto a wider canvas, then fill a
-- masked region of the expanded picture. Every step is saved under ./out/:
-- the input as uploaded, the expansion, the fill.
--
--   lua5.4 examples/expand_fill_chain.lua [image.png]
local launcher = require "firefly.launcher"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local input = arg[1] or (here .. "/assets/hero.png")
-- The mask must have the expanded picture's size (96x64): white is repainted.
local mask = here .. "/assets/sky-mask-96x64.png"
local ff, emu = assert(launcher.client_or_emulator())

local function finish(err)
  ff:close()
  if emu then emu.stop() end
  if err then io.stderr:write(tostring(err), "\n") os.exit(1) end
end

os.execute("mkdir -p out")

-- Step 0: the upload. Its id serves every later step that needs this picture.
local upload_id, uerr = ff:upload_image(input)
if not upload_id then finish(uerr) end
local f = assert(io.open(input, "rb"))
local bytes = f:read("*a")
f:close()
local copy = assert(io.open("out/chain-0-input.png", "wb"))
copy:write(bytes)
copy:close()
print("out/chain-0-input.png")

-- Step 1: expand to 96x64, the picture kept on the left.
local expanded, eerr = ff:expand_image {
  image = { source = { uploadId = upload_id } },
  size = { width = 96, height = 64 },
  prompt = "a wide evening sky",
  placement = { alignment = { horizontal = "left", vertical = "center" } },
}
if not expanded then finish(eerr) end
local step1 = "out/chain-1-expanded.png"
local ok, serr = expanded.outputs[1]:save(step1)
if not ok then finish(serr) end
print(step1)

-- Step 2: fill the masked region of the expansion. The saved file goes back
-- in as a path; the client uploads it.
local filled, ferr = ff:fill_image {
  image = { source = { path = step1 } },
  mask = { source = { path = mask } },
  prompt = "a hot-air balloon",
}
if not filled then finish(ferr) end
local step2 = "out/chain-2-filled.png"
ok, serr = filled.outputs[1]:save(step2)
if not ok then finish(serr) end
print(step2)
finish()
