-- Real full disks for the specs: a tmpfs of a few KiB (root, in CI's
-- container and in the sandbox). A spec that needs one fails, loudly, where
-- it cannot be mounted: a full-disk promise is never "tested" by skipping.
local M = {}

local function sh(cmd)
  local a, _, c = os.execute(cmd)
  return a == true or a == 0 or (a == nil and c == 0)
end

-- A mounted tmpfs of kib KiB; umount() it when done.
function M.small(kib)
  local p = io.popen("mktemp -d")
  local dir = p:read("*l")
  p:close()
  if not sh(("mount -t tmpfs -o size=%dk tmpfs '%s' 2>/dev/null"):format(kib, dir)) then
    sh("rmdir '" .. dir .. "'")
    error("cannot mount a " .. kib .. " KiB tmpfs (the full-disk specs need root and mount): run them as root", 2)
  end
  return dir
end

-- Fills the file system at dir until not one more byte fits.
function M.fill(dir)
  -- Whole blocks first, then byte by byte into the last one.
  sh(("dd if=/dev/zero of='%s/.filler' bs=4096 2>/dev/null"):format(dir))
  sh(("dd if=/dev/zero of='%s/.filler2' bs=1 2>/dev/null"):format(dir))
end

function M.umount(dir)
  sh("umount '" .. dir .. "' && rmdir '" .. dir .. "'")
end

-- The names in dir starting with prefix (left-overs a spec asserts are gone).
function M.named(dir, prefix)
  local out = {}
  local p = io.popen("ls -A '" .. dir .. "'")
  for name in p:lines() do
    if name:sub(1, #prefix) == prefix then out[#out + 1] = name end
  end
  p:close()
  return out
end

return M
