-- Every script in examples/ runs to completion against the emulator it starts
-- itself, from an empty directory, and leaves the images it says it saved.
-- Files whose names start with "_" are helpers, not examples.

local function sh(cmd)
  local p = io.popen(cmd .. "; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return (out:gsub("rc=%d+%s*$", "")), rc
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local root = sh("pwd"):gsub("%s+$", "")
local emulator = os.getenv("FIREFLY_EMULATOR") or (root .. "/build/bin/firefly-emulator")
local build = emulator:match("^(.*)/bin/[^/]+$") or (root .. "/build")
-- The examples run under the interpreter that runs this spec, with its C module.
local helper = require "helpers.emulator"
local interp, libdir = helper.lua, helper.libdir

local env = table.concat({
  "env -u FIREFLY_SERVICES_CLIENT_ID -u FIREFLY_SERVICES_CLIENT_SECRET -u FIREFLY_SERVICES_ACCESS_TOKEN",
  "-u FIREFLY_SERVICES_API_URL -u FIREFLY_SERVICES_IMS_URL",
  "LUA_PATH=" .. quote(root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;"),
  "LUA_CPATH=" .. quote(build .. "/" .. libdir .. "/?.so;;"),
  "FIREFLY_EMULATOR=" .. quote(emulator),
}, " ")

local function png_header(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local head = f:read(8)
  f:close()
  return head
end

local examples = {}
for name in sh("ls " .. quote(root .. "/examples")):gmatch("[^\n]+") do
  if name:match("%.lua$") and not name:match("^_") then examples[#examples + 1] = name end
end

describe("examples/", function()
  it("has examples to run", function()
    assert.is_true(#examples >= 10)
  end)

  for _, name in ipairs(examples) do
    it(name .. " exits 0 and saves the images (or videos) it names", function()
      local dir = sh("mktemp -d"):gsub("%s+$", "")
      local out, rc = sh(("cd %s && %s %s %s 2>&1"):format(quote(dir), env, interp,
        quote(root .. "/examples/" .. name)))
      local saved = 0
      for path in out:gmatch("(out/[^\n]-%.png)\n") do
        assert.are.equal("\137PNG\r\n\26\n", png_header(dir .. "/" .. path), path .. " is not a PNG")
        saved = saved + 1
      end
      for path in out:gmatch("(out/[^\n]-%.mp4)\n") do
        assert.are.equal("ftyp", (png_header(dir .. "/" .. path) or ""):sub(5, 8), path .. " is not an MP4")
        saved = saved + 1
      end
      sh("rm -rf " .. quote(dir))
      assert.are.equal(0, rc, out)
      assert.is_true(saved > 0, "no saved image named in the output:\n" .. out)
    end)
  end

  -- The batch example is a file for `firefly batch`, run as the README says.
  it("batch/icons.csv runs through `firefly batch` into out/icons, every row saved, with its gallery", function()
    local emu = require("helpers.emulator").start { job_seconds = 0.2 }
    local dir = sh("mktemp -d"):gsub("%s+$", "")
    local out, rc = sh(("cd %s && %s FIREFLY_SERVICES_CLIENT_ID=%s FIREFLY_SERVICES_CLIENT_SECRET=%s "
      .. "FIREFLY_SERVICES_API_URL=%s FIREFLY_SERVICES_IMS_URL=%s ASAN_OPTIONS=detect_leaks=0 "
      .. "%s %s batch %s -o out/icons 2>&1")
      :format(quote(dir), env, emu.client_id, emu.client_secret, emu.url, emu.url, interp,
        quote(root .. "/bin/firefly"), quote(root .. "/examples/batch/icons.csv")))
    emu:stop()
    local saved = 0
    for path in out:gmatch("%-> (out/icons/[^\n]-%.png)\n") do
      assert.are.equal("\137PNG\r\n\26\n", png_header(dir .. "/" .. path), path .. " is not a PNG")
      saved = saved + 1
    end
    local gallery = png_header(dir .. "/out/icons/index.html")
    sh("rm -rf " .. quote(dir))
    assert.are.equal(0, rc, out)
    assert.are.equal(12, saved, out)
    assert.are.equal("<!doctyp", gallery)
  end)
end)
