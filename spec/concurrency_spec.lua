-- Many jobs from one thread: the three ways to drive the engine (blocking
-- calls, coroutines, a host loop calling step(0)) over the same client.
local helper = require "helpers.emulator"
local firefly = require "firefly"

local SIZE = { width = 16, height = 16 }

-- The most jobs the emulator saw in flight at once, from its log: a job is in
-- flight from its submit to its first status answer saying it is done, which
-- we approximate by the first output download of that job's outputs' order.
local function peak_in_flight(log)
  local events = {}
  for _, line in ipairs(log) do
    if line.method == "POST" and line.path == "/v3/images/generate-async" and line.status == 202 then
      events[#events + 1] = { t = line.time, d = 1 }
    elseif line.path:match("^/outputs/") then
      events[#events + 1] = { t = line.time, d = -1 }
    end
  end
  table.sort(events, function(a, b) return a.t < b.t or (a.t == b.t and a.d < b.d) end)
  local cur, peak = 0, 0
  for _, e in ipairs(events) do
    cur = cur + e.d
    if cur > peak then peak = cur end
  end
  return peak
end

describe("concurrency", function()
  local emu, ff

  before_each(function()
    emu = helper.start { job_seconds = 1 }
    ff = emu:client()
  end)

  after_each(function()
    ff:close()
    emu:stop()
  end)

  it("runs 50 jobs at once from one thread: all 50 are in flight together", function()
    local prompts = {}
    for i = 1, 50 do prompts[i] = "job " .. i end
    local results, errs = ff:map(prompts, function(prompt)
      local r, err = ff:generate_images({ prompt = prompt, size = SIZE })
      if not r then return nil, err end
      return assert(r.outputs[1]:bytes())
    end, { concurrency = 50 })
    assert.are.same({}, errs)
    assert.are.equal(50, #results)
    assert.are.equal(50, peak_in_flight(emu:log()))
    assert.are.equal(1, emu:count("POST", "/ims/token/v3"))
  end)

  it("keeps results in input order whatever order jobs finish in", function()
    local seeds = { 11, 22, 33, 44, 55, 66 }
    local results = ff:map(seeds, function(seed)
      local r = assert(ff:generate_images { prompt = "seed " .. seed, seeds = { seed }, size = SIZE })
      return r.outputs[1].seed
    end, { concurrency = 3 })
    assert.are.same(seeds, results)
  end)

  it("records one item's failure without stopping the others", function()
    local prompts = { "fine", "[emulator:fail] broken", "also fine" }
    local results, errs = ff:map(prompts, function(p)
      local r, err = ff:generate_images { prompt = p, size = SIZE }
      if not r then return nil, err end
      return #r.outputs
    end)
    assert.are.equal(1, results[1])
    assert.are.equal(1, results[3])
    assert.is_nil(results[2])
    assert.are.equal("job_failed", errs[2].kind)
  end)

  it("holds never more than `concurrency` jobs in flight", function()
    local items = {}
    for i = 1, 8 do items[i] = i end
    ff:map(items, function(i)
      local r = assert(ff:generate_images { prompt = "bounded " .. i, size = SIZE })
      return assert(r.outputs[1]:bytes())
    end, { concurrency = 2 })
    assert.are.equal(2, peak_in_flight(emu:log()))
  end)

  it("chains calls inside one coroutine as plain sequential code", function()
    local seeds = firefly.run(function()
      local a = assert(ff:generate_images { prompt = "first", seeds = { 5 }, size = SIZE })
      local b = assert(ff:generate_images { prompt = "then", seeds = { a.outputs[1].seed + 1 }, size = SIZE })
      return a.outputs[1].seed, b.outputs[1].seed
    end)
    assert.are.equal(5, seeds)
  end)

  it("returns firefly.run's results", function()
    local a, b = firefly.run(function(x) return x + 1, "two" end, 1)
    assert.are.equal(2, a)
    assert.are.equal("two", b)
  end)

  it("drives a batch with nothing but step(0) from a host loop", function()
    local jobs = {}
    for i = 1, 6 do
      jobs[i] = assert(ff:generate_images({ prompt = "frame job " .. i, size = SIZE }, { wait = false }))
    end
    local events, frames = 0, 0
    local function all_done()
      for _, j in ipairs(jobs) do if not j.finished then return false end end
      return true
    end
    while not all_done() do
      frames = frames + 1
      events = events + #ff:step(0)
      helper.sleep(0.02) -- the rest of the frame
    end
    for _, j in ipairs(jobs) do
      assert.are.equal("succeeded", j.status)
      assert.are.equal(1, #j.result.outputs)
    end
    assert.is_true(events >= 12) -- at least an accepted and a done per job
    assert.is_nil(ff:timeout())  -- nothing left in flight
  end)

  it("says through timeout() when the next step is needed", function()
    assert.is_nil(ff:timeout())
    local job = assert(ff:generate_images({ prompt = "timer", size = SIZE }, { wait = false }))
    local t = ff:timeout()
    assert.is_number(t)
    assert.is_true(t >= 0)
    assert(job:wait())
  end)
end)

-- Several clients at once: the driver sleeps until any one of them has work
-- (one poll(2) over their descriptors in the core), never taking turns.
describe("several clients", function()
  local short, long

  setup(function()
    short = helper.start { job_seconds = 1 }
    long = helper.start { job_seconds = 2 }
  end)

  teardown(function()
    short:stop()
    long:stop()
  end)

  -- Counts every engine step of a client, through the driver's own hook.
  local function counted(emu)
    local ff = emu:client { poll_interval = 0.25, poll_max = 0.25 }
    local n = { steps = 0 }
    local pump = ff._pump
    ff._pump = function(self, wait)
      n.steps = n.steps + 1
      return pump(self, wait)
    end
    return ff, n
  end

  it("waits on two busy clients together, stepping only when one of them has work", function()
    local a, na = counted(short)
    local b, nb = counted(long)
    finally(function() a:close() b:close() end)
    local results, errs = a:map({ a, b }, function(c)
      return c:generate_images { prompt = c == a and "short" or "long", size = SIZE }
    end, { concurrency = 2 })
    assert.are.same({}, errs)
    assert.are.equal(1, #results[1].outputs)
    assert.are.equal(1, #results[2].outputs)
    -- Both are busy together for a second: a driver taking 10 ms turns steps
    -- them some 300 times in it. Waiting on both descriptors at once, each
    -- step has work: a connection, an answer, a poll every 0.25 s.
    io.stdout:write(("\n  steps: short client %d, long client %d\n"):format(na.steps, nb.steps))
    assert.is_true(na.steps < 40, na.steps .. " steps of the short client")
    assert.is_true(nb.steps < 50, nb.steps .. " steps of the long client")
  end)
end)
