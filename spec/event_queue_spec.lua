-- One event queue per client (issue 10 item 1): ff:step returns every event
-- queued since the last ff:step, whether a step, a blocking call or a
-- coroutine's wait produced it; a wait consumes only its own completion.
local helper = require "helpers.emulator"
local hostile = require "helpers.hostile"
local firefly = require "firefly"

local SIZE = { width = 16, height = 16 }

describe("the event queue", function()
  local emu, ff
  before_each(function() emu, ff = helper.serve { job_seconds = 0.3 } end)
  after_each(function() helper.close(emu, ff) end)

  -- Events by job, as types in order, over steps until `until_` holds.
  local function collect(seen, until_)
    for _ = 1, 400 do
      for _, ev in ipairs(ff:step(0.05)) do
        seen[ev.job] = seen[ev.job] or {}
        table.insert(seen[ev.job], ev.type)
      end
      if until_() then return seen end
    end
    return seen
  end

  it("keeps a wait = false job's events produced during a blocking call for the next ff:step", function()
    local j = assert(ff:generate_images({ prompt = "host job", size = SIZE }, { wait = false }))
    -- The host's job is accepted before the blocking call starts, so it is polled no later than
    -- the blocking job of the same length: without this, a loaded machine could let the blocking
    -- submit be accepted first and return before the host's job's last poll.
    local types = {}
    for _ = 1, 400 do
      if j.id then break end
      for _, ev in ipairs(ff:step(0.01)) do
        if ev.job == j then types[#types + 1] = ev.type end
      end
    end
    assert.is_not_nil(j.id, "the host's job is accepted")
    local before = #types
    assert(ff:generate_images { prompt = "blocking", size = SIZE, numVariations = 1 })
    assert(j.finished, "the host's job ends while the blocking call waits (same length)")
    -- Queued events are work for the host: ff:timeout() says to step now.
    assert.are.equal(0, ff:timeout())
    for _, ev in ipairs(ff:step(0)) do
      if ev.job == j then types[#types + 1] = ev.type end
    end
    assert.are.equal("accepted", types[1])
    assert.are.equal("done", types[#types])
    assert.is_true(#types > before, "the events of the blocking call's time are queued for ff:step")
  end)

  it("gives a blocking call's completion to that call alone, and every other event once", function()
    local seen = collect({}, function() return true end) -- the host steps once: the queue is open
    local r = assert(ff:generate_images { prompt = "blocking", size = SIZE })
    local mine
    for _, ev in ipairs(ff:step(0)) do
      seen[ev.job] = seen[ev.job] or {}
      table.insert(seen[ev.job], ev.type)
      if ev.job.result == r then mine = ev.job end
    end
    assert.is_not_nil(mine, "its accepted and status events are queued")
    for _, t in ipairs(seen[mine]) do assert.are_not.equal("done", t) end
  end)

  it("loses no event of jobs waited for by coroutines, blocking calls and host steps together", function()
    local jobs = {}
    for i = 1, 4 do
      jobs[i] = assert(ff:generate_images({ prompt = "host " .. i, size = SIZE }, { wait = false }))
    end
    local seen = collect({}, function() return true end)
    -- A coroutine waits for one of them, a blocking call runs meanwhile.
    firefly.run(function() assert(jobs[1]:wait()) end)
    assert(ff:generate_images { prompt = "blocking", size = SIZE })
    collect(seen, function()
      for i = 2, 4 do if not jobs[i].finished then return false end end
      return true
    end)
    for i = 1, 4 do
      local list = seen[jobs[i]] or {}
      local accepted, ends = 0, 0
      for _, t in ipairs(list) do
        if t == "accepted" then accepted = accepted + 1 end
        if t == "done" or t == "error" then ends = ends + 1 end
      end
      assert.are.equal(1, accepted, "job " .. i .. " accepted once")
      -- jobs[1]'s completion was taken by the coroutine's wait; the others' reach the host once.
      assert.are.equal(i == 1 and 0 or 1, ends, "job " .. i .. " ended once")
    end
  end)

  it("steps a save made with wait = false like a job: its end comes from ff:step, op:wait() gives the path", function()
    local r = assert(ff:generate_images { prompt = "to save", size = SIZE })
    local dir = helper.tmpdir()
    local op = assert(r.outputs[1]:save(dir .. "/a.png", { wait = false }))
    assert.is_false(op.finished) -- returned at once, the download in flight
    local ended
    for _ = 1, 200 do
      for _, ev in ipairs(ff:step(0.05)) do
        if ev.job == op then ended = ev.type end
      end
      if ended then break end
    end
    assert.are.equal("done", ended)
    assert.are.equal(dir .. "/a.png", assert(op:wait()))
    assert.are.equal("\137PNG", helper.slurp(dir .. "/a.png"):sub(1, 4))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("steps a fetch of an output's bytes made with wait = false, and op:wait() gives the bytes", function()
    local r = assert(ff:generate_images { prompt = "to fetch", size = SIZE })
    local op = assert(r.outputs[1]:fetch { wait = false })
    assert.is_false(op.finished)
    local ended
    for _ = 1, 200 do
      for _, ev in ipairs(ff:step(0.05)) do
        if ev.job == op then ended = ev.type end
      end
      if ended then break end
    end
    assert.are.equal("done", ended)
    assert.are.equal("\137PNG", assert(op:wait()):sub(1, 4))
    assert.are.equal(assert(r.outputs[1]:bytes()), op:wait())
  end)

  it("reports a wait = false save's progress as its body arrives: bytes that grow, the total, then its end", function()
    local srv = hostile.start("trickle") -- 20000 bytes announced, one every 50 ms for 3 s, then the rest
    local host, out = srv:output { stall_timeout = 10, min_download_rate = 1, max_retries = 0 }
    local dir = helper.tmpdir()
    local op = assert(out:save(dir .. "/out.png", { wait = false }))
    assert.are.equal("save", op.kind)
    assert.are.equal(dir .. "/out.png", op.path)
    local seen, ended, after = {}, nil, 0
    for _ = 1, 400 do
      for _, ev in ipairs(host:step(0.05)) do
        if ev.job == op and ev.type == "progress" then
          if ended then after = after + 1 end
          seen[#seen + 1] = ev
        elseif ev.job == op then
          ended = ev.type
        end
      end
      if ended then break end
    end
    assert.are.equal("done", ended)
    assert.are.equal(20000, #helper.slurp(dir .. "/out.png"))
    assert.are.equal(0, after, "no progress after the end")
    assert.is_true(#seen >= 5, "one event per step that saw bytes, " .. #seen .. " seen")
    for i, ev in ipairs(seen) do
      assert.are.equal(20000, ev.total)
      assert.are.equal(math.floor(ev.bytes * 100 / 20000), ev.progress)
      if i > 1 then assert.is_true(ev.bytes > seen[i - 1].bytes, "bytes grow from event to event") end
    end
    host:close()
    srv:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("stops a wait = false save cancelled halfway, leaving nothing at its path", function()
    local srv = hostile.start("trickle")
    local host, out = srv:output { stall_timeout = 10, min_download_rate = 1, max_retries = 0 }
    local dir = helper.tmpdir()
    local op = assert(out:save(dir .. "/out.png", { wait = false }))
    for _ = 1, 100 do
      host:step(0.05)
      if (op.bytes or 0) >= 3 then break end
    end
    assert.is_true(op.bytes >= 3, "the body had begun")
    assert.is_true(op:cancel())
    local ok, err = op:wait()
    assert.is_nil(ok)
    assert.are.equal("canceled", err.kind, tostring(err))
    assert.are.same({}, helper.ls(dir))
    host:close()
    srv:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("keeps a job's done event when its on_progress callback steps the client itself", function()
    -- The status and the done event of a finished job come out of one step; the callback runs
    -- for the status, before the done is handed on, and steps the client (or makes a blocking
    -- call, which steps it too) in between.
    local j = assert(ff:generate_images({ prompt = "re-entrant", size = SIZE }, {
      wait = false,
      on_progress = function() ff:step(0) end,
    }))
    local seen = collect({}, function() return j.finished end)
    collect(seen, function() return true end)
    assert.is_nil(j.err)
    assert.are.equal("table", type(j.result and j.result.outputs[1]))
    local done = 0
    for _, t in ipairs(seen[j] or {}) do if t == "done" then done = done + 1 end end
    assert.are.equal(1, done, "its done event, once: " .. table.concat(seen[j] or {}, ","))
  end)

  it("says nil for ff:timeout() once the client is closed, though events were still queued", function()
    -- A host that closes its client from an event handler ends its loop on nil.
    local j = assert(ff:generate_images({ prompt = "closed with events", size = SIZE }, { wait = false }))
    assert(j:wait())
    assert.are.equal(0, ff:timeout(), "its events wait for the host")
    ff:close()
    assert.is_nil(ff:timeout())
  end)

  it("is not kept by a client that only makes blocking calls", function()
    assert(ff:generate_images { prompt = "script", size = SIZE })
    assert.is_nil(ff._queue)
  end)
end)
