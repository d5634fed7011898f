-- The client as a pollable: ff:pollfd() is one descriptor (epoll: every
-- transfer's socket and a timer for the next deadline) that turns readable
-- when the client has work, ff:events() says "r", ff:timeout() is exact. A
-- host's own loop (select, poll, cqueues, luv) waits on it and steps.
local helper = require "helpers.emulator"
local core = require "firefly.core"

local SIZE = { width = 16, height = 16 }
local have_socket, socket = pcall(require, "socket")
local have_cqueues, cqueues = pcall(require, "cqueues")
-- "epoll" on Linux; "poll" elsewhere, or in a build with -DFIREFLY_POLLER=poll (what
-- macOS and the BSDs get, built and run here): no descriptor then, pollfd() is nil.
local epoll = core.poller == "epoll"

describe("ff:pollfd()", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 1 } end)
  teardown(function() emu:stop() end)

  local check = (have_socket and epoll) and it or pending

  check("is readable whenever the client has work, so a select() loop needs no timeout of its own", function()
    local ff = emu:client { poll_interval = 0.3 }
    finally(function() ff:close() end)
    assert.are.equal("r", ff:events())
    local fd = assert(ff:pollfd())
    assert.are.equal(fd, ff:pollfd()) -- one descriptor for the client's life
    local pollable = { getfd = function() return fd end }
    local j = assert(ff:generate_images({ prompt = "select", size = SIZE }, { wait = false }))
    local wakes, timed_out = 0, 0
    while not (j.result or j.err) do
      -- A generous cap: if the descriptor never turned readable the job would take 30 s a wake.
      local readable = socket.select({ pollable }, nil, 30)
      if #readable == 0 then timed_out = timed_out + 1 end
      ff:step(0)
      wakes = wakes + 1
      assert.is_true(wakes < 200, "the descriptor stays readable with nothing to do")
    end
    assert(j.result, j.err and tostring(j.err))
    assert.are.equal(0, timed_out)
  end)

  check("can be waited on by a poll loop beside other descriptors, with ff:timeout() as the limit", function()
    local ff = emu:client { poll_interval = 0.3 }
    finally(function() ff:close() end)
    local fd = assert(ff:pollfd())
    local idle = assert(socket.bind("127.0.0.1", 0)) -- a listener nobody connects to: never ready
    finally(function() idle:close() end)
    local jobs = {}
    for i = 1, 4 do
      jobs[i] = assert(ff:generate_images({ prompt = "poll " .. i, size = SIZE }, { wait = false }))
    end
    local wakes = 0
    local function done()
      for _, j in ipairs(jobs) do if not (j.result or j.err) then return false end end
      return true
    end
    while not done() do
      local t = ff:timeout()
      assert.is_not_nil(t, "ff:timeout() is nil while jobs are pending")
      local ready = socket.select({ idle, { getfd = function() return fd end } }, nil, t)
      assert.is_nil(ready[idle], "the idle listener turned ready")
      ff:step(0)
      wakes = wakes + 1
      assert.is_true(wakes < 400, "busy loop: " .. wakes .. " wakes")
    end
    for _, j in ipairs(jobs) do assert(j.result, j.err and tostring(j.err)) end
  end)

  local cq_check = (have_cqueues and epoll) and it or pending
  cq_check("is a pollable cqueues can wait on (cqueues.poll(ff))", function()
    local ff = emu:client { poll_interval = 0.3 }
    finally(function() ff:close() end)
    local j = assert(ff:generate_images({ prompt = "cqueues", size = SIZE }, { wait = false }))
    local cq = cqueues.new()
    local wakes = 0
    cq:wrap(function()
      while not (j.result or j.err) do
        cqueues.poll(ff)
        ff:step(0)
        wakes = wakes + 1
      end
    end)
    assert(cq:loop())
    assert(j.result, j.err and tostring(j.err))
    assert.is_true(wakes < 200, wakes .. " wakes")
  end)
end)

describe("without epoll", function()
  local fallback = core.poller == "poll" and it or pending
  fallback("pollfd() is nil, and a host loop stepping on ff:timeout() alone finishes its jobs", function()
    local emu = helper.start { job_seconds = 0.5 }
    local ff = emu:client { poll_interval = 0.2 }
    finally(function()
      ff:close()
      emu:stop()
    end)
    assert.is_nil(ff:pollfd())
    local jobs = {}
    for i = 1, 3 do
      jobs[i] = assert(ff:generate_images({ prompt = "no epoll " .. i, size = SIZE }, { wait = false }))
    end
    local function done()
      for _, j in ipairs(jobs) do if not j.finished then return false end end
      return true
    end
    local steps = 0
    while not done() do
      local t = assert(ff:timeout(), "ff:timeout() is nil while jobs are pending")
      -- A sleep of its own, as a host's: nothing but the timeout tells it when to look.
      if t > 0 then os.execute(("sleep %.3f"):format(t)) end
      ff:step(0)
      steps = steps + 1
    end
    for _, j in ipairs(jobs) do assert(j.result, j.err and tostring(j.err)) end
    -- A blocking call sleeps in poll(2) over the sockets.
    assert(ff:generate_images { prompt = "blocking, no epoll", size = SIZE })
    ff:step(0) -- takes the events the blocking call queued for this host
    assert.is_nil(ff:timeout())
    io.stderr:write(("\n[pollable] no epoll: 3 jobs in %d host steps\n"):format(steps))
  end)
end)

describe("ff:timeout()", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 2 } end)
  teardown(function() emu:stop() end)

  it("is a number, never nil, from the first submit until the job is done", function()
    local ff = emu:client {}
    finally(function() ff:close() end)
    local j = assert(ff:generate_images({ prompt = "never nil", size = SIZE }, { wait = false }))
    local nils, steps = 0, 0
    while not (j.result or j.err) do
      local t = ff:timeout()
      if t == nil then nils = nils + 1 end
      ff:step(math.min(t or 0.05, 0.05))
      steps = steps + 1
    end
    assert(j.result, j.err and tostring(j.err))
    assert.are.equal(0, nils)
  end)

  it("is nil once nothing at all is pending", function()
    local ff = emu:client {}
    finally(function() ff:close() end)
    assert.is_nil(ff:timeout())
    assert(ff:generate_images { prompt = "then idle", size = SIZE })
    ff:step(0)
    assert.is_nil(ff:timeout())
  end)

  local check = have_socket and it or pending
  check("lets a host that only sleeps ff:timeout() between steps finish a 2 s job with a handful of wakes", function()
    local ff = emu:client {}
    finally(function() ff:close() end)
    local before = emu:count(nil, "")
    local t0 = core.now()
    local j = assert(ff:generate_images({ prompt = "sleeper", size = SIZE }, { wait = false }))
    local wakes, idle_wakes = 0, 0
    while not (j.result or j.err) do
      local t = assert(ff:timeout(), "ff:timeout() is nil while the job is pending")
      socket.sleep(t)
      local events = ff:step(0)
      wakes = wakes + 1
      if #events == 0 then idle_wakes = idle_wakes + 1 end
    end
    local wall = core.now() - t0
    assert(j.result, j.err and tostring(j.err))
    -- The proof is in counts: one token, one submit and the polls the pacing asks for, each
    -- woken for; no fixed-interval guessing (which showed as dozens of empty wakes).
    local requests = emu:count(nil, "") - before
    assert.is_true(requests <= 5, requests .. " requests")
    assert.is_true(wakes <= 40, wakes .. " wakes")
    io.stderr:write(("\n[pollable] 2 s job, host sleeping ff:timeout(): %.3f s wall, %d wakes "
      .. "(%d without events), %d requests\n")
      :format(wall, wakes, idle_wakes, requests))
  end)
end)
