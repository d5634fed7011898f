-- firefly.launcher: a real emulator process started, used and stopped from Lua.
local firefly = require "firefly"
local launcher = require "firefly.launcher"
-- The interpreter under test (tests/tests.cmake), for the children started here.
local test_lua = require("helpers.emulator").lua

local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local st = f:read("*a")
  f:close()
  return st:match("^%d+ %b() ([ZX])") == nil
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

describe("launcher.start", function()
  it("starts an emulator a client can generate images with, and stop() ends it", function()
    local emu = assert(launcher.start { job_seconds = 0.2, seed = 7 })
    local pid, errfile = emu.pid, emu.errfile
    assert.is_number(pid)
    assert.truthy(alive(pid))
    assert.matches("^http://127%.0%.0%.1:%d+$", emu.url)
    assert.are.equal("emulator-client-id", emu.client_id)

    local ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
                             api_url = emu.url, ims_url = emu.url }
    local r = assert(ff:generate_images { prompt = "a lighthouse at dusk", numVariations = 1,
                                          size = { width = 512, height = 512 } })
    assert.are.equal(1, #r.outputs)
    local png = assert(r.outputs[1]:bytes())
    assert.are.equal("\137PNG\r\n\26\n", png:sub(1, 8))
    ff:close()

    assert.is_true(emu.stop())
    assert.is_false(alive(pid))
    assert.is_false(exists(errfile))
    assert.is_true(emu.stop()) -- a second stop is harmless
  end)

  it("passes its options on as flags", function()
    local emu = assert(launcher.start { client_id = "my-id", client_secret = "my-secret", job_seconds = 0.2,
                                        flags = { ["url-seconds"] = 60 } })
    local ff = firefly.new { client_id = "my-id", client_secret = "my-secret",
                             api_url = emu.url, ims_url = emu.url }
    local job = assert(ff:generate_images({ prompt = "a fox" }, { wait = false }))
    assert.truthy(job:wait())
    ff:close()
    emu.stop()
  end)

  it("passes an executable path and flag values with spaces, quotes and $(...) through as they are", function()
    local base = os.tmpname()
    os.remove(base)
    -- A shell that read any of these unquoted would split them, or run the touch.
    local fs = require "firefly.fs"
    local top = base .. [[ it's a "dir" $(touch ]]
    local odd = top .. base .. [[-ran) `x` $HOME]] -- "/" in it: folders within top
    local emu
    finally(function() -- one handler: a second finally() would replace this one
      if emu then emu.stop() end
      fs.rm_rf(top)
      os.remove("firefly-launcher-ran")
    end)
    assert(os.execute("mkdir -p " .. fs.quote(odd)))
    local exe = odd .. "/firefly emulator's copy"
    assert(os.execute(("ln -s %s %s"):format(fs.quote(assert(launcher.find())), fs.quote(exe))))
    local log = odd .. "/the log; $(touch firefly-launcher-ran) 'q'.jsonl"
    emu = assert(launcher.start { exe = exe, job_seconds = 0.1, log = log })
    assert.matches("^http://127%.0%.0%.1:%d+$", emu.url)
    assert.is_true(emu.stop())
    -- The emulator opens its --log at start: the file is there under exactly that name.
    assert.is_true(exists(log), "no log at " .. log)
    assert.is_false(exists(base .. "-ran") or exists("firefly-launcher-ran"), "a shell ran a piece of an argument")
  end)

  it("refuses an argument with a NUL byte instead of starting an emulator with its arguments cut there", function()
    -- A shell command string ends at the NUL: the rest, --exit-on-stdin-eof and --parent-pid with it, was lost.
    local emu, err = launcher.start { job_seconds = 0.1, log = os.tmpname() .. "\0.jsonl" }
    if emu then emu.stop() end
    assert.is_nil(emu)
    assert.truthy(tostring(err):find("contains a NUL byte", 1, true), tostring(err))
  end)

  it("returns nil and the emulator's own words when it cannot start", function()
    local emu, err = launcher.start { flags = { "--no-such-flag" } }
    assert.is_nil(emu)
    assert.matches("did not start", err)
    assert.matches("no%-such%-flag", err)
  end)

  it("returns nil and says where it looked when there is no executable", function()
    local emu, err = launcher.start { exe = "/nonexistent/firefly-emulator" }
    assert.is_nil(emu)
    assert.matches("did not start", err)
  end)
end)

describe("launcher.client_or_emulator", function()
  it("starts an emulator and points a client at it when no credentials are set", function()
    -- Pass empty credentials so the test does not depend on the caller's environment.
    local saved = launcher.has_credentials
    launcher.has_credentials = function() return false end
    local ff, emu = launcher.client_or_emulator(nil, { job_seconds = 0.2 })
    launcher.has_credentials = saved
    assert.truthy(ff and emu)
    local r = assert(ff:generate_images { prompt = "a teapot" })
    assert.matches("^" .. emu.url:gsub("%p", "%%%0"), r.outputs[1].image.url)
    ff:close()
    emu.stop()
  end)

  it("treats a client id with a secret or a token as credentials", function()
    assert.is_true(launcher.has_credentials { client_id = "a", client_secret = "b" })
    assert.is_true(launcher.has_credentials { client_id = "a", access_token = "t" })
  end)
end)

-- Started emulators end with whoever started them, however that ends: a
-- demo killed with kill -9 must not leave a server behind on its port.
describe("emulator lifetime", function()
  -- pgrep runs without the ASan runtime that the sanitized suite preloads:
  -- under it, procps' pgrep hangs in a futex and the spec never ends.
  local function sh(cmd)
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    return out
  end

  local function slurp(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("*a")
    f:close()
    return s
  end

  -- Waits for `pattern` in the file; returns its capture.
  local function wait_line(path, pattern)
    for _ = 1, 1000 do
      local m = (slurp(path) or ""):match(pattern)
      if m then return m end
      os.execute("sleep 0.01")
    end
    error("nothing matching " .. pattern .. " in " .. path .. ": " .. tostring(slurp(path)))
  end

  local function ends(pid)
    for _ = 1, 500 do
      if not alive(pid) then return true end
      os.execute("sleep 0.01")
    end
    return false
  end

  for _, sig in ipairs({ "TERM", "KILL" }) do
    it("ends a launcher.start emulator when its Lua process gets SIG" .. sig, function()
      local out = os.tmpname()
      -- stdin is a pipe from sleep, so the script waits in read() with no child of its own.
      local script = 'local e = assert(require("firefly.launcher").start{}); print(e.pid); io.stdout:flush(); io.read()'
      local lua_pid = tonumber(sh(("sleep 10 | %s -e %q >%s 2>&1 & echo $!"):format(test_lua, script, out)))
      local emu_pid = tonumber(wait_line(out, "^(%d+)\n"))
      assert.truthy(alive(emu_pid))
      os.execute("kill -" .. sig .. " " .. lua_pid)
      assert.is_true(ends(emu_pid), "the emulator outlived its parent")
      os.remove(out)
    end)

    it("ends a `firefly emulator` when the firefly process gets SIG" .. sig, function()
      local out = os.tmpname()
      -- The interpreter running this spec: the CLI loads the core built for it.
      local lua = test_lua
      local cli_pid = tonumber(sh(("%s bin/firefly emulator --port 0 </dev/null >%s 2>&1 & echo $!"):format(lua, out)))
      wait_line(out, "^(http://[^\n]+)\n")
      local emu_pid = tonumber(sh("env -u LD_PRELOAD pgrep -P " .. cli_pid):match("%d+"))
      assert.truthy(emu_pid and alive(emu_pid))
      os.execute("kill -" .. sig .. " " .. cli_pid)
      assert.is_true(ends(emu_pid), "the emulator outlived its parent")
      os.remove(out)
    end)
  end

  it("ends at EOF on stdin with --exit-on-stdin-eof, and with its --parent-pid alone", function()
    local exe = assert(launcher.find())
    local out = os.tmpname()
    -- The writer of its stdin ends after a moment: so must the emulator.
    sh(("(sleep 0.5) | %s --port 0 --exit-on-stdin-eof >%s 2>&1 &"):format(exe, out))
    wait_line(out, "^(http://[^\n]+)\n")
    local pid = tonumber(sh("env -u LD_PRELOAD pgrep -n -f -- '--exit-on-stdin-eof'"):match("%d+"))
    assert.is_true(ends(pid), "--exit-on-stdin-eof ignored EOF")
    -- A shell that starts it in the background and is killed with -9.
    os.remove(out)
    local parent = tonumber(sh(("sh -c '%s --port 0 --parent-pid $$ </dev/null >%s 2>&1 & exec sleep 10' >/dev/null"
      .. " & echo $!"):format(exe, out)))
    wait_line(out, "^(http://[^\n]+)\n")
    local child = tonumber(sh("env -u LD_PRELOAD pgrep -P " .. parent):match("%d+"))
    assert.truthy(child and alive(child))
    os.execute("kill -KILL " .. parent)
    assert.is_true(ends(child), "--parent-pid ignored its parent's end")
    os.remove(out)
  end)
end)
