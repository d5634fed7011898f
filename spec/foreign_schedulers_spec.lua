-- Foreign coroutine schedulers (issue 10 item 5): with firefly.set_wait and
-- the adapter for copas, cqueues or luv, a generating call made inside one of
-- their coroutines yields to that scheduler instead of blocking the thread:
-- another coroutine of the same scheduler keeps running meanwhile. Each runs
-- where Debian's package serves the interpreter (copas: 5.1/LuaJIT).
local helper = require "helpers.emulator"
local firefly = require "firefly"

local SIZE = { width = 16, height = 16 }

local function have(name)
  local ok = pcall(require, name)
  return ok
end

describe("a generating call inside a foreign scheduler's coroutine", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.5 } end)
  teardown(function()
    firefly.set_wait(nil)
    helper.close(emu, ff)
  end)

  -- Each test: the call's result, and how often the other coroutine ran while it waited.
  local function check(result, ticks_during)
    assert.are.equal("table", type(result.outputs[1]), "the call got its result")
    assert.is_true(ticks_during >= 3, "the other coroutine ran while the call waited: " .. ticks_during)
  end

  it("yields to cqueues, which runs its other coroutines meanwhile", function()
    if not have("cqueues") then return pending("lua-cqueues does not serve " .. _VERSION) end
    local cqueues = require "cqueues"
    firefly.set_wait(require "firefly.wait.cqueues")
    local cq = cqueues.new()
    local r, ticks, done = nil, 0, false
    cq:wrap(function()
      r = assert(ff:generate_images { prompt = "cqueues", size = SIZE })
      done = true
    end)
    cq:wrap(function()
      while not done do
        ticks = ticks + 1
        cqueues.sleep(0.02)
      end
    end)
    assert(cq:loop())
    check(r, ticks)
  end)

  it("yields to luv's loop, whose timers fire meanwhile", function()
    if not have("luv") then return pending("lua-luv does not serve " .. _VERSION) end
    local uv = require "luv"
    firefly.set_wait(require "firefly.wait.luv")
    local r, ticks = nil, 0
    local timer = uv.new_timer()
    timer:start(20, 20, function() ticks = ticks + 1 end)
    coroutine.wrap(function()
      r = assert(ff:generate_images { prompt = "luv", size = SIZE })
      timer:stop()
      timer:close()
    end)()
    uv.run()
    check(r, ticks)
  end)

  it("yields to copas, whose other threads run meanwhile", function()
    if not have("copas") then return pending("lua-copas does not serve " .. _VERSION) end
    local copas = require "copas"
    firefly.set_wait(require "firefly.wait.copas")
    local r, done = nil, false
    -- addthread runs the thread at once: a call that blocked would end before it returns.
    copas.addthread(function()
      r = assert(ff:generate_images { prompt = "copas", size = SIZE })
      done = true
    end)
    local ticks = 0
    while not done do
      ticks = ticks + 1
      copas.step(0.02)
    end
    check(r, ticks)
  end)

  -- Three calls wait on one client, so on one descriptor: whichever wakes steps the
  -- client for all three, and the two others must still hear that theirs is over.
  local function three(prompt)
    return { prompt = prompt, size = SIZE }
  end

  it("gives three cqueues coroutines waiting on one client each its result", function()
    if not have("cqueues") then return pending("lua-cqueues does not serve " .. _VERSION) end
    local cqueues = require "cqueues"
    firefly.set_wait(require "firefly.wait.cqueues")
    local cq, got = cqueues.new(), {}
    for i = 1, 3 do cq:wrap(function() got[i] = assert(ff:generate_images(three("cqueues " .. i))) end) end
    assert(cq:loop())
    for i = 1, 3 do assert.are.equal("table", type(got[i] and got[i].outputs[1]), "call " .. i) end
  end)

  it("gives three luv coroutines waiting on one client each its result", function()
    if not have("luv") then return pending("lua-luv does not serve " .. _VERSION) end
    local uv = require "luv"
    firefly.set_wait(require "firefly.wait.luv")
    local got = {}
    for i = 1, 3 do coroutine.wrap(function() got[i] = assert(ff:generate_images(three("luv " .. i))) end)() end
    uv.run()
    for i = 1, 3 do assert.are.equal("table", type(got[i] and got[i].outputs[1]), "call " .. i) end
  end)

  it("finishes a luv coroutine's call while the host's own uv.new_poll watches ff:pollfd()", function()
    if not have("luv") then return pending("lua-luv does not serve " .. _VERSION) end
    if not ff:pollfd() then return pending("no descriptor to watch on this platform") end
    local uv = require "luv"
    firefly.set_wait(require "firefly.wait.luv")
    local host = uv.new_poll(ff:pollfd())
    local got = nil
    host:start("r", function() ff:step(0) end) -- a host stepping the client on its descriptor
    coroutine.wrap(function()
      got = assert(ff:generate_images(three("luv beside the host")))
      host:stop()
      host:close()
    end)()
    uv.run()
    assert.are.equal("table", type(got and got.outputs[1]))
  end)

  it("gives three copas threads waiting on one client each its result", function()
    if not have("copas") then return pending("lua-copas does not serve " .. _VERSION) end
    local copas = require "copas"
    firefly.set_wait(require "firefly.wait.copas")
    local got, done = {}, 0
    for i = 1, 3 do
      copas.addthread(function()
        got[i] = assert(ff:generate_images(three("copas " .. i)))
        done = done + 1
      end)
    end
    -- Bounded in steps, not time: a thread nobody wakes would leave this loop short.
    for _ = 1, 1000 do
      if done == 3 then break end
      copas.step(0.05)
    end
    for i = 1, 3 do assert.are.equal("table", type(got[i] and got[i].outputs[1]), "call " .. i) end
  end)

  -- Another coroutine closes the client while a call waits on its descriptor (a job that
  -- never ends, so it is surely in flight): the call ends canceled, and the scheduler goes on.
  local function stuck(c, accepted)
    return c:generate_images({ prompt = "[emulator:stuck] waiting", size = SIZE },
      { on_progress = function() accepted.yes = true end })
  end
  local function canceled(r, err)
    assert.is_nil(r)
    assert.are.equal("canceled", err and err.kind, tostring(err))
  end

  it("ends a copas thread's wait at its own deadline, though copas sleeps until a socket is ready", function()
    if not have("copas") then return pending("lua-copas does not serve " .. _VERSION) end
    local copas = require "copas"
    firefly.set_wait(require "firefly.wait.copas")
    -- The first status poll is 30 s after the accept: until then nothing wakes the descriptor.
    local c = emu:client { poll_interval = 30 }
    local polls = emu:count("GET", "^/v3/status/")
    local got
    copas.addthread(function()
      local j = assert(c:generate_images({ prompt = "copas deadline", size = SIZE }, { wait = false }))
      got = { j:wait(0.3) }
      j:cancel()
    end)
    for _ = 1, 100 do
      if got then break end
      copas.step() -- no timeout of its own: copas sleeps in select until a socket is ready
    end
    c:close()
    assert.is_table(got, "the wait returned")
    assert.is_nil(got[1])
    assert.are.equal("timeout", got[2].kind)
    assert.are.equal(polls, emu:count("GET", "^/v3/status/"), "it returned before the first status poll")
  end)

  it("ends a call waiting under cqueues canceled when another coroutine closes the client", function()
    if not have("cqueues") then return pending("lua-cqueues does not serve " .. _VERSION) end
    local cqueues = require "cqueues"
    firefly.set_wait(require "firefly.wait.cqueues")
    local c, accepted, got = emu:client(), {}, nil
    local cq = cqueues.new()
    cq:wrap(function() got = { stuck(c, accepted) } end)
    cq:wrap(function()
      for _ = 1, 500 do
        if accepted.yes then break end
        cqueues.sleep(0.02)
      end
      c:close()
    end)
    assert(cq:loop())
    canceled(got[1], got[2])
  end)

  it("ends a call waiting under luv canceled when a timer closes the client", function()
    if not have("luv") then return pending("lua-luv does not serve " .. _VERSION) end
    local uv = require "luv"
    firefly.set_wait(require "firefly.wait.luv")
    local c, accepted, got = emu:client(), {}, nil
    coroutine.wrap(function() got = { stuck(c, accepted) } end)()
    local timer, turns = uv.new_timer(), 0
    timer:start(20, 20, function()
      turns = turns + 1
      if accepted.yes or turns > 500 then
        timer:stop()
        timer:close()
        c:close()
      end
    end)
    uv.run()
    canceled(got[1], got[2])
  end)

  it("ends a call waiting under copas canceled when the host closes the client", function()
    if not have("copas") then return pending("lua-copas does not serve " .. _VERSION) end
    local copas = require "copas"
    firefly.set_wait(require "firefly.wait.copas")
    local c, accepted, got = emu:client(), {}, nil
    copas.addthread(function() got = { stuck(c, accepted) } end)
    for _ = 1, 1000 do
      if got then break end
      copas.step(0.02)
      if accepted.yes and not c._closed then c:close() end
    end
    assert.is_table(got, "the call returned")
    canceled(got[1], got[2])
  end)

  it("blocks as before once the wait function is cleared", function()
    firefly.set_wait(nil)
    local r = coroutine.wrap(function() return assert(ff:generate_images { prompt = "plain", size = SIZE }) end)()
    assert.are.equal("table", type(r.outputs[1]))
    assert.has_error(function() firefly.set_wait(42) end, "firefly.set_wait: expects a function or nil")
  end)
end)
