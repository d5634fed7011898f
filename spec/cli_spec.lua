-- The `firefly` command, tried as a new user would: help, a typo, no
-- credentials, then a real batch against the emulator.
local helper = require "helpers.emulator"
local cli = require "firefly.cli"

local interp = helper.lua

-- Under `make asan` LeakSanitizer's own tracer sometimes crashes (SIGSEGV in
-- StopTheWorld) at the exit of this child after a multi-output batch; leaks are
-- still checked in-process by every other spec. Open item in issue 4.
local function run(cmd, env)
  local p = io.popen(("env -u FIREFLY_SERVICES_CLIENT_ID -u FIREFLY_SERVICES_CLIENT_SECRET "
    .. "-u FIREFLY_SERVICES_ACCESS_TOKEN ASAN_OPTIONS=detect_leaks=0 %s %s bin/firefly %s 2>&1; echo \"rc=$?\"")
    :format(env or "", interp, cmd))
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

  it("refuses a bad flag value by name and range before anything is allocated or sent", function()
    for _, case in ipairs {
      { "generate x --timeout abc", "%-%-timeout must be a number, got 'abc'" },
      { "generate x -n 1e9 --seed 1", "%-n must be between 1 and 4, got '1e9'" },
      { "generate x -n 2.5", "%-n must be a whole number" },
      { "generate x --seed -4", "%-%-seed must be between 0 and" },
      { "generate x --timeout nan", "%-%-timeout must be a number" },
      { "batch f.csv -o d --concurrency 0", "%-%-concurrency must be between 1 and" },
      { "validate f.csv --rate-limit fast", "%-%-rate%-limit must be a number" },
      { "upscale a.png --factor 9", "%-%-factor must be between 2 and 6" },
      -- The client's own ranges (timeout 1..86400 s, per_minute up to 10000): past them the
      -- client raised, a traceback here and a row silently lost in a batch.
      { "generate x --timeout 0.5", "%-%-timeout must be between 1 and 86400, got '0.5'" },
      { "batch f.csv -o d --timeout 0.5", "%-%-timeout must be between 1 and 86400" },
      { "batch f.csv -o d --rate-limit 50000", "%-%-rate%-limit must be between 0.001 and 10000" },
    } do
      local out, rc = run(case[1])
      assert.are.equal(cli.EXIT.usage, rc, case[1] .. ": " .. out)
      assert.matches(case[2], out)
    end
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
      env = ("FIREFLY_SERVICES_CLIENT_ID=%s FIREFLY_SERVICES_CLIENT_SECRET=%s "
        .. "FIREFLY_SERVICES_API_URL=%s FIREFLY_SERVICES_IMS_URL=%s")
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

    it("finds an unwritable -o before submitting, so no paid job is lost", function()
      local f = assert(io.open(dir .. "/file", "wb")) f:write("x") f:close()
      local out, rc = run(("generate 'a cat' --size 64x64 -o '%s/file/out'"):format(dir), env)
      assert.are.equal(cli.EXIT.usage, rc, out)
      assert.matches("cannot write to the output folder", out)
      assert.are.equal(0, emu:count("POST", "generate%-async"))
    end)

    it("shows a finished job's output URLs with status, so its outputs can be fetched again", function()
      local out, rc = run(("generate 'a fox' -n 2 --seed 5 --size 64x64 --json -o '%s'"):format(dir), env)
      assert.are.equal(0, rc, out)
      local id = helper.json.decode(out:match("(%b{})%s*$")).job_id
      out, rc = run("status '" .. id .. "' --json", env)
      assert.are.equal(0, rc, out)
      local doc = helper.json.decode(out:match("(%b{})%s*$"))
      assert.are.equal(2, #doc.outputs)
      assert.are.equal(5, doc.outputs[1].seed)
      assert.matches("^http://127%.0%.0%.1:%d+/", doc.outputs[1].url)
      out, rc = run("status '" .. id .. "'", env)
      assert.are.equal(0, rc, out)
      assert.matches("seed 6  http://", out)
    end)

    it("exits 2, not 1, for a request refused by validation, and sends nothing", function()
      local out, rc = run(("generate 'a cat' --model-version image99 -o '%s'"):format(dir), env)
      assert.are.equal(cli.EXIT.usage, rc, out)
      assert.matches("x%-model%-version", out)
      assert.are.equal(0, emu:count("POST", "generate%-async"))
    end)

    it("does not call a bad API URL or job id a credentials problem (exit 3)", function()
      local out, rc = run(("generate 'a cat' -o '%s'"):format(dir), env:gsub("API_URL=%S+", "API_URL=notaurl"))
      assert.are.equal(cli.EXIT.usage, rc, out)
      assert.matches("API URL 'notaurl' is not an http%(s%) URL", out)
      out, rc = run(("generate 'a cat' -o '%s'"):format(dir), env:gsub("API_URL=%S+", "API_URL=http://127.0.0.1:1"))
      assert.are.equal(cli.EXIT.failed, rc, out)
      assert.matches("transport error", out)
      out, rc = run("status 'not a job!'", env)
      assert.are.equal(cli.EXIT.usage, rc, out)
      assert.matches("is not a job id", out)
    end)

    -- Starts `firefly ARGS` against a slow emulator, sends SIGINT once the submit
    -- arrived, and returns what it printed and its exit code.
    local function interrupted(args)
      emu:stop()
      emu = helper.start { job_seconds = 30 }
      env = env:gsub("API_URL=%S+", "API_URL=" .. emu.url):gsub("IMS_URL=%S+", "IMS_URL=" .. emu.url)
      os.execute(("(%s ASAN_OPTIONS=detect_leaks=0 %s bin/firefly %s >'%s/log' 2>&1 & "
        .. "echo $! >'%s/pid'; wait $!; echo $? >'%s/rc') 2>/dev/null &"):format(env, interp, args, dir, dir, dir))
      for _ = 1, 400 do
        if emu:count("POST", "generate%-async") > 0 then break end
        helper.sleep(0.025)
      end
      helper.sleep(0.3)
      os.execute("kill -INT " .. helper.slurp(dir .. "/pid"):match("%d+"))
      for _ = 1, 600 do
        if (helper.slurp(dir .. "/rc") or ""):match("%d") then break end
        helper.sleep(0.025)
      end
      return helper.slurp(dir .. "/log") or "", tonumber(helper.slurp(dir .. "/rc"))
    end

    it("on Ctrl-C cancels the job it started and exits 130, without a traceback", function()
      local log, rc = interrupted(("generate 'a slow cat' -o '%s'"):format(dir))
      assert.are.equal(130, rc, log)
      assert.matches("interrupted", log)
      assert.is_nil(log:find("traceback", 1, true))
      assert.are.equal(1, emu:count("PUT", "^/v3/cancel/"))
    end)

    it("on Ctrl-C in `firefly run`, cancels the jobs of the script's clients and exits 130", function()
      local f = assert(io.open(dir .. "/slow.lua", "wb"))
      f:write('local ff = require("firefly").new()\nprint(ff:generate_images{prompt = "a slow cat"})\n')
      f:close()
      local log, rc = interrupted(("run '%s/slow.lua'"):format(dir))
      assert.are.equal(130, rc, log)
      assert.matches("interrupted %(1 job canceled%)", log)
      assert.is_nil(log:find("traceback", 1, true))
      assert.are.equal(1, emu:count("PUT", "^/v3/cancel/"))
    end)

    it("refuses a FIFO as the script of `firefly run` without opening it", function()
      assert(os.execute("mkfifo '" .. dir .. "/script.lua'"))
      -- A late writer, bounded: before the fix loadfile waited for it.
      os.execute(("(sleep 2; timeout 5 sh -c \"echo 'print(1)' > '%s/script.lua'\") >/dev/null 2>&1 &"):format(dir))
      local out, rc = run(("run '%s/script.lua'"):format(dir), env)
      assert.are.equal(cli.EXIT.usage, rc, out)
      assert.truthy(out:find("cannot read the script " .. dir .. "/script.lua: is a FIFO", 1, true), out)
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
