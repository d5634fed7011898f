-- The `firefly` command, tried as a new user would: help, a typo, no
-- credentials, then a real batch against the emulator.
local helper = require "helpers.emulator"
local cli = require "firefly.cli"

local interp = rawget(_G, "jit") and "luajit" or "lua5.4"

-- Under `make asan` LeakSanitizer's own tracer sometimes crashes (SIGSEGV in
-- StopTheWorld) at the exit of this child after a multi-output batch; leaks are
-- still checked in-process by every other spec. Open item in issue 4.
local function run(cmd, env)
  local p = io.popen(("env -u FIREFLY_SERVICES_CLIENT_ID -u FIREFLY_SERVICES_CLIENT_SECRET "
    .. "-u FIREFLY_SERVICES_ACCESS_TOKEN ASAN_OPTIONS=detect_leaks=0 %s %s bin/firefly %s 2>&1; echo \"rc=$?\""):format(env or "", interp, cmd))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return out:gsub("rc=%d+%s*$", ""), rc
end

describe("firefly (the command)", function()
  it("explains itself with --help, on every command", function()
    local out, rc = run("--help")
    assert.are.equal(0, rc)
    assert.matches("usage: firefly <command>", out)
    for _, c in ipairs { "generate", "expand", "fill", "similar", "composite", "video", "upload", "models",
                         "status", "cancel", "run" } do
      out, rc = run(c .. " --help")
      assert.are.equal(0, rc, c)
      assert.matches("usage: firefly " .. c, out)
    end
  end)

  it("suggests the command a typo meant, with the usage exit code", function()
    local out, rc = run("genrate 'a cat'")
    assert.are.equal(cli.EXIT.usage, rc)
    assert.matches("did you mean 'generate'", out)
    out, rc = run("generate 'a cat' --sise 10x10")
    assert.are.equal(cli.EXIT.usage, rc)
    assert.matches("unknown option %-%-sise", out)
  end)

  it("says which variables to set when there are no credentials", function()
    local out, rc = run("generate 'a cat'")
    assert.are.equal(cli.EXIT.auth, rc)
    assert.matches("FIREFLY_SERVICES_CLIENT_ID", out)
  end)

  it("never names an output file outside the output directory", function()
    assert.are.equal("x-etc-passwd", cli.safe_name("x", "../../etc/passwd"))
    assert.are.equal("output", cli.safe_name("..", "/"))
  end)

  describe("against the emulator", function()
    local emu, dir, env
    before_each(function()
      emu = helper.start { job_seconds = 0.3 }
      local p = io.popen("mktemp -d"); dir = p:read("*l"); p:close()
      env = ("FIREFLY_SERVICES_CLIENT_ID=%s FIREFLY_SERVICES_CLIENT_SECRET=%s FIREFLY_SERVICES_API_URL=%s FIREFLY_SERVICES_IMS_URL=%s")
        :format(emu.client_id, emu.client_secret, emu.url, emu.url)
    end)
    after_each(function()
      emu:stop()
      os.execute("rm -rf '" .. dir .. "'")
    end)

    it("generates a batch into the output directory and prints the paths", function()
      local out, rc = run(("generate 'a lighthouse' -n 3 --size 64x64 --seed 10 -o '%s'"):format(dir), env)
      assert.are.equal(0, rc, out)
      local n = 0
      for path in out:gmatch("([^\n]+%.png)\n") do
        assert.are.equal(dir, path:match("^(.*)/[^/]+$"))
        assert.are.equal("\137PNG", helper.slurp(path):sub(1, 4))
        n = n + 1
      end
      assert.are.equal(3, n)
    end)

    it("prints JSON with --json, and status finds the job again", function()
      local out, rc = run(("generate 'a fox' --size 64x64 --json -o '%s'"):format(dir), env)
      assert.are.equal(0, rc, out)
      local doc = helper.json.decode(out:match("(%b{})%s*$"))
      assert.are.equal(1, #doc.outputs)
      out, rc = run("status '" .. doc.job_id .. "' --json", env)
      assert.are.equal(0, rc, out)
      assert.are.equal("succeeded", helper.json.decode(out:match("(%b{})%s*$")).status)
    end)

    it("fails with exit code 1 for an unknown job, and 3 when the credentials are refused", function()
      local _, rc = run("status urn:ff:jobs:x:00000000-0000-0000-0000-000000000000", env)
      assert.are.equal(cli.EXIT.failed, rc)
      local bad = env:gsub("CLIENT_SECRET=%S+", "CLIENT_SECRET=wrong")
      local out
      out, rc = run("generate 'a cat' -o '" .. dir .. "'", bad)
      assert.are.equal(cli.EXIT.auth, rc, out)
    end)
  end)
end)
