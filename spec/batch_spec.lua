-- `firefly batch FILE -o DIR` and `firefly validate FILE`, run as a user runs
-- them (bin/firefly in a child process) against a real emulator; every claim
-- about requests is counted from the emulator's --log.
local helper = require "helpers.emulator"
local cjson = require "cjson"

local interp = helper.lua

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  return (out:gsub("rc=%d+%s*$", "")), tonumber(out:match("rc=(%d+)%s*$"))
end

local function tmpdir()
  return (sh("mktemp -d"):gsub("%s+$", ""))
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function env_for(emu)
  return ("env -u FIREFLY_SERVICES_ACCESS_TOKEN ASAN_OPTIONS=detect_leaks=0 FIREFLY_SERVICES_CLIENT_ID=%s "
    .. "FIREFLY_SERVICES_CLIENT_SECRET=%s FIREFLY_SERVICES_API_URL=%s FIREFLY_SERVICES_IMS_URL=%s")
    :format(emu.client_id, emu.client_secret, emu.url, emu.url)
end

local function submits(emu)
  return emu:count("POST", "^/v3/images/generate%-async$")
end

-- A CSV of n seeded rows; row i has prompt "item i" and seed 100 + i.
local function csv(n, extra)
  local lines = { "name,prompt,size.width,size.height,seeds" }
  for i = 1, n do lines[#lines + 1] = ("item-%d,item %d,64,64,%d"):format(i, i, 100 + i) end
  for _, l in ipairs(extra or {}) do lines[#lines + 1] = l end
  return table.concat(lines, "\n") .. "\n"
end

local function state_lines(dir)
  local list = {}
  for line in (helper.slurp(dir .. "/rows.jsonl") or ""):gmatch("[^\n]+") do list[#list + 1] = cjson.decode(line) end
  return list
end

describe("firefly batch", function()
  local emu, dir, env
  before_each(function()
    emu = helper.start { job_seconds = 0.2 }
    dir = tmpdir()
    env = env_for(emu)
  end)
  after_each(function()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function batch(args)
    return sh(("%s %s bin/firefly %s"):format(env, interp, args))
  end

  describe("before anything is sent", function()
    it("refuses to start when a row is invalid, naming its line and field, and sends nothing", function()
      write(dir .. "/rows.csv", "prompt,size.width,size.height,numVariations\na cat,64,64,1\na dog,abc,64,1\n"
        .. "a fox,64,64,9\n")
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(2, rc, out)
      assert.matches("rows.csv:3: size.width: value is not a valid integer", out, 1, true)
      assert.matches("rows.csv:4: numVariations: ensure this value is less than or equal to 4", out, 1, true)
      assert.matches("nothing was sent", out)
      assert.are.equal(0, #emu:log())
    end)

    it("reads a spreadsheet's CSV: byte-order mark, CRLF, quoted commas, quotes and newlines, dotted and | lists",
      function()
      write(dir .. "/rows.csv", "\239\187\191name,prompt,size.width,seeds,style.presets\r\n"
        .. "a,\"one, \"\"two\"\"\r\nthree\",64,1|2,bw|golden\r\n\r\nb,plain,96,3,\r\n")
      local list = assert(require("firefly.cli.rows").read(dir .. "/rows.csv"))
      assert.are.equal(2, #list)
      assert.are.equal(2, list[1].line)
      assert.are.equal(5, list[2].line) -- the quoted newline and the blank line are counted
      assert.are.equal('one, "two"\r\nthree', list[1].body.prompt)
      assert.are.same({ width = 64 }, list[1].body.size)
      assert.are.same({ 1, 2 }, list[1].body.seeds)
      assert.are.same({ "bw", "golden" }, list[1].body.style.presets)
      assert.are.equal("a", list[1].name)
      assert.is_nil(list[2].body.style)
    end)

    it("runs the valid rows with --skip-invalid and shows the skipped ones in the gallery", function()
      write(dir .. "/rows.csv", "prompt,size.width,size.height,seeds\na cat,64,64,1\na dog,abc,64,2\n")
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out' --skip-invalid"):format(dir, dir))
      assert.are.equal(0, rc, out)
      assert.are.equal(1, submits(emu))
      assert.matches("size.width: value is not a valid integer", helper.slurp(dir .. "/out/index.html"), 1, true)
    end)

    -- A late writer, bounded by timeout: before the fix the open waited for it (and with
    -- none would have waited forever); now nobody opens the FIFO and the writer ends at 5 s.
    local function fifo_with_late_writer(path, text)
      assert(os.execute("mkfifo '" .. path .. "'"))
      os.execute(("(sleep 2; timeout 5 sh -c \"printf '%%s' '%s' > '%s'\") >/dev/null 2>&1 &"):format(text, path))
    end

    it("refuses a FIFO as the rows file without opening it, and sends nothing", function()
      fifo_with_late_writer(dir .. "/rows.csv", "prompt\na cat\n")
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(2, rc, out)
      assert.truthy(out:find(dir .. "/rows.csv: is a FIFO, not a regular file", 1, true), out)
      assert.are.equal(0, #emu:log())
    end)

    it("refuses a FIFO at DIR/rows.jsonl (the run's records) without opening it, and sends nothing", function()
      write(dir .. "/rows.csv", csv(1))
      assert(os.execute("mkdir '" .. dir .. "/out'"))
      fifo_with_late_writer(dir .. "/out/rows.jsonl", "")
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(2, rc, out)
      assert.truthy(out:find(dir .. "/out/rows.jsonl: is a FIFO, not a regular file", 1, true), out)
      assert.are.equal(0, #emu:log())
    end)

    it("reads the rows from standard input when FILE is -, said so explicitly", function()
      local out, rc = sh(("printf 'prompt,seeds\\na cat,1\\na dog,2\\n' | %s %s bin/firefly validate -")
        :format(env, interp))
      assert.are.equal(0, rc, out)
      assert.matches("to run%s+2 rows", out)
      assert.are.equal(0, #emu:log())
    end)

    it("finds an unwritable output folder before submitting", function()
      write(dir .. "/rows.csv", csv(2))
      write(dir .. "/file", "x")
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/file/out'"):format(dir, dir))
      assert.are.equal(2, rc, out)
      assert.matches("cannot write to the output folder", out)
      assert.are.equal(0, submits(emu))
    end)

    it("reads JSON Lines with the same extra keys, and local image files relative to the file", function()
      os.execute(("cp examples/assets/hero.png '%s/hero.png'"):format(dir))
      write(dir .. "/rows.jsonl", table.concat({
        '{"name":"sky","prompt":"a sky","size":{"width":64,"height":64},"seeds":[7]}',
        '{"operation":"expand_image","name":"wide hero","image":"hero.png",'
          .. '"size":{"width":160,"height":96},"seeds":[5]}',
      }, "\n") .. "\n")
      local out, rc = batch(("batch '%s/rows.jsonl' -o '%s/out'"):format(dir, dir))
      assert.are.equal(0, rc, out)
      assert.are.equal(1, emu:count("POST", "^/v2/storage/image$"))
      assert.are.equal(1, emu:count("POST", "^/v3/images/expand%-async$"))
      assert.truthy(helper.slurp(dir .. "/out/sky-7.png"))
      assert.truthy(helper.slurp(dir .. "/out/wide-hero-5.png"))
    end)
  end)

  describe("--dry-run and validate", function()
    it("print rows, submits, uploads and the wall time with its assumed rate, making no request at all", function()
      os.execute(("cp examples/assets/hero.png '%s/hero.png'"):format(dir))
      write(dir .. "/rows.jsonl", table.concat({
        '{"prompt":"a","size":{"width":64,"height":64},"seeds":[1]}',
        '{"prompt":"b","size":{"width":64,"height":64},"seeds":[2]}',
        '{"operation":"expand_image","image":"hero.png","size":{"width":160,"height":96},"seeds":[5]}',
        '{"operation":"expand_image","image":"hero.png","size":{"width":320,"height":192},"seeds":[5]}',
      }, "\n"))
      local out, rc = batch(("batch '%s/rows.jsonl' -o '%s/out' --dry-run"):format(dir, dir))
      assert.are.equal(0, rc, out)
      assert.matches("rows%s+4 %(4 valid, 0 invalid%)", out)
      assert.matches("submits%s+4", out)
      assert.matches("uploads%s+1 local files", out) -- one file, used twice
      assert.matches("4 submits/min %(assumed: Adobe's default per organization", out)
      out, rc = batch(("validate '%s/rows.jsonl' --rate-limit 60 --concurrency 2"):format(dir))
      assert.are.equal(0, rc, out)
      assert.matches("at 60 submits/min %(%-%-rate%-limit%), concurrency 2", out)
      assert.are.equal(0, #emu:log())
      assert.is_nil(io.open(dir .. "/out/index.html"))
    end)

    it("counts only what the run's records do not already have", function()
      write(dir .. "/rows.csv", csv(3))
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(0, rc, out)
      write(dir .. "/rows.csv", csv(5))
      local before = #emu:log()
      out, rc = batch(("validate '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(0, rc, out)
      assert.matches("already done 3", out)
      assert.matches("submits%s+2 ", out)
      assert.are.equal(before, #emu:log())
    end)

    it("counts what the --cache already holds, and the run then sends nothing for it", function()
      write(dir .. "/rows.csv", csv(3))
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/first' --cache '%s/cache'"):format(dir, dir, dir))
      assert.are.equal(0, rc, out)
      local before = #emu:log()
      out, rc = batch(("validate '%s/rows.csv' -o '%s/second' --cache '%s/cache'"):format(dir, dir, dir))
      assert.are.equal(0, rc, out)
      assert.matches("submits%s+0 %(3 from the cache", out)
      assert.are.equal(before, #emu:log())
      out, rc = batch(("batch '%s/rows.csv' -o '%s/second' --cache '%s/cache'"):format(dir, dir, dir))
      assert.are.equal(0, rc, out)
      assert.matches("3 succeeded %(3 this run, 3 from the cache%)", out)
      assert.are.equal(3, submits(emu))
    end)

    it("exits 2 for an invalid file, with the line and field", function()
      write(dir .. "/rows.csv", "prompt,contentClass\na cat,painting\n")
      local out, rc = batch(("validate '%s/rows.csv'"):format(dir))
      assert.are.equal(2, rc, out)
      assert.matches("rows.csv:2: contentClass:", out, 1, true)
      assert.are.equal(0, #emu:log())
    end)
  end)

  describe("outputs", function()
    it("are named from name or a slug of the prompt plus the seed, never colliding, never outside DIR", function()
      write(dir .. "/rows.csv", table.concat({
        "name,prompt,size.width,size.height,seeds",
        "Iron Sword,a sword,64,64,11",
        "Iron Sword,another sword,64,64,11",
        "../../escape,a key,64,64,12",
        ",A Red Health Potion; in a flask!,64,64,13",
      }, "\n") .. "\n")
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(0, rc, out)
      local files = sh(("ls '%s/out'"):format(dir))
      assert.matches("Iron%-Sword%-11%.png", files)
      assert.matches("Iron%-Sword%-2%-11%.png", files)
      assert.matches("escape%-12%.png", files)
      assert.matches("a%-red%-health%-potion%-in%-a%-13%.png", files)
      assert.are.equal("", (sh(("ls '%s'"):format(dir)):gsub("out\n", ""):gsub("rows.csv\n", "")))
    end)
  end)

  describe("watching it", function()
    it("prints a plain line per finished row off a terminal, and a summary", function()
      write(dir .. "/rows.csv", csv(3))
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(0, rc, out)
      assert.are.equal(3, select(2, out:gsub("%[%d/3%] ok ", "")))
      assert.matches("done: 3 rows: 3 succeeded %(3 this run, 0 from the cache%), 0 failed", out)
      assert.matches("gallery: " .. dir:gsub("%p", "%%%0") .. "/out/index.html", out)
    end)

    it("on a terminal, redraws one status block in place, with a line above it per finished row", function()
      write(dir .. "/rows.csv", csv(3))
      -- script(1) gives the batch a pseudo-terminal, as a user's shell would.
      local cmd = ("%s %s bin/firefly batch '%s/rows.csv' -o '%s/out'"):format(env, interp, dir, dir)
      local out, rc = sh(("script -qec %s /dev/null"):format(("'" .. cmd:gsub("'", "'\\''") .. "'")))
      assert.are.equal(0, rc, out)
      assert.matches("\27%[%d+A\27%[J", out) -- cursor up, clear: the block is redrawn, not appended
      assert.matches("done %d+   failed 0   in flight %d+   queued %d+   %(of 3%)", out)
      assert.matches("elapsed %d+ s   ETA", out)
      assert.are.equal(3, select(2, out:gsub("ok     line %d", "")))
    end)

    it("says once, by line, which columns Adobe's document does not know, and still runs", function()
      write(dir .. "/rows.csv", "prompt,size.width,size.height,seeds,colour\na cat,64,64,1,red\n")
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(0, rc, out)
      assert.matches("rows.csv:2: warning: colour: unknown field", out, 1, true)
      assert.are.equal(1, select(2, out:gsub("colour", "")))
      assert.are.equal(1, submits(emu))
    end)

    it("off a terminal, prints a heartbeat line every 30 s even when no row finishes", function()
      local display = require "firefly.cli.display"
      local t, lines = 0, {}
      local sink = { write = function(_, ...) lines[#lines + 1] = table.concat { ... } end, flush = function() end }
      local show = display.new("plain", sink, sink, function() return t end)
      local c = { total = 5, done = 1, failed = 0, canceled = 0, in_flight = 2, waiting = 2, queued = 2, elapsed = 0 }
      for step = 1, 90 do
        t = step
        c.elapsed = step
        show:tick(c)
      end
      assert.are.equal(3, #lines)
      assert.matches("^%.%.%. 1 done, 0 failed, 2 in flight, 2 queued; elapsed 30 s", lines[1])
    end)

    it("prints one JSON event per line with --json", function()
      write(dir .. "/rows.csv", csv(2))
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out' --json"):format(dir, dir))
      assert.are.equal(0, rc, out)
      local kinds = {}
      for line in out:gmatch("[^\n]+") do
        local ev = cjson.decode(line)
        kinds[#kinds + 1] = ev.event
      end
      assert.are.same({ "start", "row", "row", "summary" }, kinds)
    end)
  end)

  describe("stopping and resuming", function()
    it("a second run of a finished batch submits nothing and exits 0", function()
      write(dir .. "/rows.csv", csv(3))
      assert.are.equal(0, select(2, batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))))
      assert.are.equal(3, submits(emu))
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(0, rc, out)
      assert.are.equal(3, submits(emu))
    end)

    it("exits 1 when a row failed, shows its error, and --retry-failed resubmits only that row", function()
      write(dir .. "/rows.csv", csv(2, { "bad,[emulator:fail] a broken one,64,64,999" }))
      local out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(1, rc, out)
      assert.matches("FAILED line 4 bad", out)
      assert.are.equal(3, submits(emu))
      out, rc = batch(("batch '%s/rows.csv' -o '%s/out'"):format(dir, dir))
      assert.are.equal(1, rc, out)
      assert.are.equal(3, submits(emu))
      out, rc = batch(("batch '%s/rows.csv' -o '%s/out' --retry-failed"):format(dir, dir))
      assert.are.equal(1, rc, out)
      assert.are.equal(4, submits(emu))
    end)

    it("records a row whose call raised as failed, so the run exits 1 and the row is not lost", function()
      -- A timeout the client refuses (it raises) reaches each row's call: a flag the
      -- CLI checks by other rules than the client's did so (--timeout 0.5).
      write(dir .. "/rows.csv", csv(1))
      local text = {}
      local sink = { write = function(_, ...) for _, v in ipairs { ... } do text[#text + 1] = v end end,
                     flush = function() end }
      local io_ = { out = sink, err = sink }
      local cli = require "firefly.cli"
      local rc = require("firefly.cli.batch").main(io_, "batch", { output = dir .. "/out", timeout = 0.5 },
        dir .. "/rows.csv", { EXIT = cli.EXIT, client = function(extra) return emu:client(extra) end })
      local out = table.concat(text)
      assert.are.equal(cli.EXIT.failed, rc, out)
      assert.matches("1 failed", out)
      local rec = state_lines(dir .. "/out")
      assert.are.equal(1, #rec)
      assert.are.equal("failed", rec[1].status)
      assert.matches("option 'timeout'", rec[1].error)
    end)
  end)
end)

describe("firefly batch, interrupted", function()
  local emu, dir, env
  before_each(function()
    emu = helper.start { job_seconds = 1.5 }
    dir = tmpdir()
    env = env_for(emu)
  end)
  after_each(function()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  -- Starts the batch in the background; returns its pid file and output file.
  local function start(args)
    os.execute(("(%s %s bin/firefly %s >'%s/log' 2>&1 & echo $! >'%s/pid'; wait $!; echo $? >'%s/rc') 2>/dev/null &")
      :format(env, interp, args, dir, dir, dir))
    for _ = 1, 100 do
      if (helper.slurp(dir .. "/pid") or ""):match("%d+\n") then break end -- written, not just created
      helper.sleep(0.02)
    end
    return tonumber(helper.slurp(dir .. "/pid"):match("%d+"))
  end
  -- The subshell of start() writes the exit code once the batch has ended.
  local function wait_exit()
    for _ = 1, 600 do
      if (helper.slurp(dir .. "/rc") or ""):match("%d") then return end
      helper.sleep(0.05)
    end
    error("the batch did not exit")
  end
  local function until_rows(n)
    for _ = 1, 600 do
      if #state_lines(dir .. "/out") >= n then return end
      helper.sleep(0.05)
    end
    error("the batch finished no row")
  end

  it("cancels its jobs on SIGINT, exits 130, and a re-run submits only what did not finish", function()
    write(dir .. "/rows.csv", csv(8))
    local pid = start(("batch '%s/rows.csv' -o '%s/out' --concurrency 2"):format(dir, dir))
    until_rows(2)
    -- The gallery is written as rows finish: it can be opened mid-run.
    -- (rows.jsonl is written a moment before the page: give the page that moment)
    local shown = 0
    for _ = 1, 100 do
      shown = select(2, (helper.slurp(dir .. "/out/index.html") or ""):gsub('data%-status="succeeded"', ""))
      if shown >= 2 then break end
      helper.sleep(0.02)
    end
    assert.is_true(shown >= 2, "the gallery shows " .. shown .. " finished rows mid-run")
    os.execute("kill -INT " .. pid)
    wait_exit()
    local log = helper.slurp(dir .. "/log")
    assert.matches("interrupted", log)
    assert.is_nil(log:find("traceback", 1, true))
    local finished = #state_lines(dir .. "/out")
    assert.is_true(finished < 8)
    assert.is_true(emu:count("PUT", "^/v3/cancel/") >= 1)
    local first = submits(emu)
    local rc0 = tonumber(helper.slurp(dir .. "/rc") or "")
    assert.are.equal(130, rc0)
    local out, rc = sh(("%s %s bin/firefly batch '%s/rows.csv' -o '%s/out'"):format(env, interp, dir, dir))
    assert.are.equal(0, rc, out)
    -- The bodies of the rows the first run finished: none of them is sent again.
    local finished_jobs, finished_bodies = {}, {}
    for _, e in ipairs(state_lines(dir .. "/out")) do finished_jobs[e.job_id] = true end
    local log1 = emu:log()
    for _, e in ipairs(log1) do
      if e.job_id and finished_jobs[e.job_id] and e.body_sha256 then finished_bodies[e.body_sha256] = true end
    end
    out, rc = sh(("%s %s bin/firefly batch '%s/rows.csv' -o '%s/out'"):format(env, interp, dir, dir))
    assert.are.equal(0, rc, out)
    assert.are.equal(8, #state_lines(dir .. "/out"))
    assert.are.equal(8 - finished, submits(emu) - first)
    local log2 = emu:log()
    for i = #log1 + 1, #log2 do
      local e = log2[i]
      if e.method == "POST" and e.path == "/v3/images/generate-async" then
        assert.is_nil(finished_bodies[e.body_sha256], "a finished row was submitted again")
      end
    end
  end)

  it("treats SIGTERM as Ctrl-C: cancels, records, exits 130", function()
    write(dir .. "/rows.csv", csv(4))
    local pid = start(("batch '%s/rows.csv' -o '%s/out' --concurrency 2"):format(dir, dir))
    until_rows(1)
    os.execute("kill -TERM " .. pid)
    wait_exit()
    assert.are.equal(130, tonumber(helper.slurp(dir .. "/rc")), helper.slurp(dir .. "/log"))
    assert.is_true(emu:count("PUT", "^/v3/cancel/") >= 1)
    assert.is_true(#state_lines(dir .. "/out") >= 1)
    local page, unfinished = helper.slurp(dir .. "/out/index.html"), 0
    for status in page:gmatch('data%-status="(%a+)"') do
      if status == "canceled" or status == "queued" then unfinished = unfinished + 1 end
    end
    assert.are.equal(4 - #state_lines(dir .. "/out"), unfinished)
  end)

  it("after kill -9, a re-run re-attaches to the jobs in flight instead of submitting them again", function()
    write(dir .. "/rows.csv", csv(4))
    local pid = start(("batch '%s/rows.csv' -o '%s/out' --concurrency 4"):format(dir, dir))
    for _ = 1, 600 do
      -- four submits recorded (the journal also holds retirements of finished ones)
      if select(2, (helper.slurp(dir .. "/out/journal.jsonl") or ""):gsub('"status_url"', "")) >= 4 then break end
      helper.sleep(0.02)
    end
    os.execute("kill -KILL " .. pid)
    wait_exit()
    assert.are.equal(4, submits(emu))
    local plan = sh(("%s %s bin/firefly validate '%s/rows.csv' -o '%s/out'"):format(env, interp, dir, dir))
    -- every unfinished row is in the journal (all four where coroutines run them at once)
    local done_before = #state_lines(dir .. "/out")
    local want = "submits%%s+0 %%(0 from the cache, %d re%%-attached from the journal%%)"
    assert.matches(want:format(4 - done_before), plan)
    local out, rc = sh(("%s %s bin/firefly batch '%s/rows.csv' -o '%s/out'"):format(env, interp, dir, dir))
    assert.are.equal(0, rc, out)
    assert.are.equal(4, submits(emu))
    assert.are.equal(4, #state_lines(dir .. "/out"))
  end)
end)
