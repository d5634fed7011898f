-- Async jobs as a user drives them: wait = false, progress, model versions,
-- failed and cancelled jobs, deadlines, re-attaching by id or statusUrl, and
-- a wait with a timeout that leaves the job running.
local helper = require("helpers.emulator")
local recorder = require("helpers.recorder")

local SIZE = { width = 64, height = 64 }
local JOB_ID = "^urn:ff:jobs:[%w]+:[%x%-]+$"


-- Steps the client until nothing is in flight (a cancel sent at a deadline,
-- say), so the emulator's log holds every request the client meant to make.
local function settle(ff)
  for _ = 1, 200 do
    if ff:timeout() == nil then return end
    ff:step(0.05)
  end
end

local function entries(emu, method, pattern)
  local list = {}
  for _, e in ipairs(emu:log()) do
    if e.method == method and e.path:find(pattern) then list[#list + 1] = e end
  end
  return list
end

describe("a job submitted with wait = false", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.5 } end)
  teardown(function() helper.close(emu, ff) end)

  it("comes back at once with its id and status, and job:wait() gives the result", function()
    local job = assert(ff:generate_images({ prompt = "a cat", size = SIZE }, { wait = false }))
    assert.is_string(job.status)
    assert.are_not.equal("succeeded", job.status)
    local r = assert(job:wait())
    assert.matches(JOB_ID, job.id)
    assert.are.equal("succeeded", job.status)
    assert.are.equal(64, r.size.width)
    assert.are.equal(1, #r.outputs)
    assert.are.equal(job.id, r.job_id)
  end)

  it("knows its id once the submit is accepted, before it finishes", function()
    local job = assert(ff:generate_images({ prompt = "a cat", size = SIZE }, { wait = false }))
    for _ = 1, 100 do
      if job.id then break end
      ff:step(0.05)
    end
    assert.matches(JOB_ID, job.id)
    assert.is_false(job.finished)
    assert(job:wait())
  end)
end)

describe("on_progress", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 3 } end)
  teardown(function() helper.close(emu, ff) end)

  it("is called with the job as its status and progress rise", function()
    local seen = {}
    local r = assert(ff:generate_images({ prompt = "a cat", size = SIZE }, {
      on_progress = function(job) seen[#seen + 1] = { status = job.status, progress = job.progress } end,
    }))
    assert.is_table(r)
    local running, last = 0, -1
    for _, s in ipairs(seen) do
      if s.status == "running" then
        running = running + 1
        assert.is_number(s.progress)
        assert.is_true(s.progress >= last, "progress went down")
        last = s.progress
      end
    end
    assert.is_true(running >= 1, "no running poll was reported")
    assert.are.equal("succeeded", seen[#seen].status)
    assert.are.equal(100, seen[#seen].progress)
  end)
end)

describe("opts.model_version", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.3 } end)
  teardown(function() emu:stop() end)

  it("reaches the server as the x-model-version header", function()
    local rec, why = recorder.start(emu.url)
    if not rec then return pending(why) end
    finally(function() rec:stop() end)
    local ff = emu:client({ api_url = rec.url, api_hosts = { emu.url:match("^%a+://(.+)$") } })
    assert(ff:generate_images({ prompt = "a cat", size = SIZE }, { model_version = "image4_standard" }))
    assert(ff:generate_images({ prompt = "a dog", size = SIZE }))
    ff:close()
    local submits = {}
    for _, r in ipairs(rec:requests()) do
      if r.path == "/v3/images/generate-async" then submits[#submits + 1] = r end
    end
    assert.are.equal(2, #submits)
    assert.are.equal("image4_standard", submits[1].headers["x-model-version"])
    assert.is_nil(submits[2].headers["x-model-version"])
  end)
end)

describe("a job that fails on the server", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.3 } end)
  teardown(function() helper.close(emu, ff) end)

  it("returns a job_failed error with Adobe's code, the job id and a request id", function()
    local r, err = ff:generate_images { prompt = "[emulator:fail] a cat", size = SIZE }
    assert.is_nil(r)
    assert.are.equal("job_failed", err.kind)
    assert.are.equal("runtime_error", err.code)
    assert.matches(JOB_ID, err.job_id)
    assert.is_string(err.request_id)
    assert.is_true(#err.request_id > 0)
    assert.is_string(err.message)
  end)

  it("returns prompt_unsafe for a prompt the service flags", function()
    local r, err = ff:generate_images { prompt = "[emulator:unsafe] a cat", size = SIZE }
    assert.is_nil(r)
    assert.are.equal("job_failed", err.kind)
    assert.are.equal("prompt_unsafe", err.code)
    assert.matches(JOB_ID, err.job_id)
  end)
end)

describe("job:cancel()", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 5 } end)
  teardown(function() helper.close(emu, ff) end)

  it("ends a running job as canceled with one PUT to its cancelUrl", function()
    local job = assert(ff:generate_images({ prompt = "a cat", size = SIZE }, { wait = false }))
    for _ = 1, 200 do
      if job.status == "running" then break end
      ff:step(0.05)
    end
    assert.are.equal("running", job.status)
    assert.is_true(job:cancel())
    local r, err = job:wait()
    assert.is_nil(r)
    assert.are.equal("canceled", err.kind)
    assert.are.equal(job.id, err.job_id)
    settle(ff)
    local puts = entries(emu, "PUT", "^/v3/cancel/")
    assert.are.equal(1, #puts)
    assert.are.equal("/v3/cancel/" .. job.id, puts[1].path)
    assert.are.equal(200, puts[1].status)
  end)
end)

describe("a job's deadline", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.5 } end)
  teardown(function() helper.close(emu, ff) end)

  it("returns a timeout error with the job id and cancels the job on the server", function()
    local r, err = ff:generate_images({ prompt = "[emulator:stuck] a cat", size = SIZE }, { timeout = 1.5 })
    assert.is_nil(r)
    assert.are.equal("timeout", err.kind)
    assert.matches(JOB_ID, err.job_id)
    settle(ff)
    local puts = entries(emu, "PUT", "^/v3/cancel/")
    assert.are.equal(1, #puts)
    assert.are.equal("/v3/cancel/" .. err.job_id, puts[1].path)
    -- The server agrees the job is being cancelled.
    local doc = emu:api("GET", "/v3/status/" .. err.job_id).json
    assert.is_truthy(doc.status == "cancel_pending" or doc.status == "cancelled", doc.status)
  end)
end)

describe("ff:job()", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 0.5 } end)
  teardown(function() helper.close(emu, ff) end)

  local function submitted()
    local job = assert(ff:generate_images({ prompt = "a cat", numVariations = 2, size = SIZE }, { wait = false }))
    for _ = 1, 100 do
      if job.id then break end
      ff:step(0.05)
    end
    assert.is_string(job.id)
    return job
  end

  it("re-attaches by job id and returns the job's result", function()
    local job = submitted()
    local r = assert(ff:job(job.id))
    assert.are.equal(2, #r.outputs)
    assert.are.equal(job.id, r.job_id)
    assert.is_string(r.outputs[1].image.url)
  end)

  it("re-attaches by statusUrl", function()
    local job = submitted()
    assert.matches("/v3/status/", job.status_url)
    local r = assert(ff:job(job.status_url))
    assert.are.equal(2, #r.outputs)
  end)

  it("works from a second client that never saw the submit", function()
    local job = submitted()
    local other = emu:client()
    finally(function() other:close() end)
    local r = assert(other:job(job.id))
    assert.are.equal(2, #r.outputs)
    local mine = assert(job:wait())
    assert.are.same(mine.outputs[1].seed, r.outputs[1].seed)
    assert.are.same(mine.outputs[1].image.url, r.outputs[1].image.url)
    local bytes = assert(r.outputs[1]:bytes())
    assert.are.equal("\137PNG", bytes:sub(1, 4))
  end)

  it("on an unknown id returns an http 404 unknown_job_id with a request id", function()
    local r, err = ff:job("urn:ff:jobs:emu851000:00000000-0000-4000-8000-000000000000")
    assert.is_nil(r)
    assert.are.equal("http", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal("unknown_job_id", err.code)
    assert.is_string(err.request_id)
    assert.is_true(#err.request_id > 0)
  end)
end)

describe("job:wait(timeout)", function()
  local emu, ff
  setup(function() emu, ff = helper.serve { job_seconds = 2 } end)
  teardown(function() helper.close(emu, ff) end)

  it("returns a timeout error when the job is not done, and the job goes on to finish", function()
    local job = assert(ff:generate_images({ prompt = "a cat", size = SIZE }, { wait = false }))
    local r, err = job:wait(0.2)
    assert.is_nil(r)
    assert.are.equal("timeout", err.kind)
    assert.is_false(job.finished)
    r = assert(job:wait())
    assert.are.equal("succeeded", job.status)
    assert.are.equal(1, #r.outputs)
    assert.are.equal(0, #entries(emu, "PUT", "^/v3/cancel/"))
  end)
end)

describe("a job whose last event the engine never delivers", function()
  local emu, ff, real
  setup(function() emu, ff = helper.serve { job_seconds = 0.2 } end)
  teardown(function() helper.close(emu, ff) end)

  -- The client's core with every "done" event dropped, counting its steps.
  local steps = 0
  before_each(function()
    real = ff._core
    ff._core = setmetatable({
      step = function(_, wait)
        steps = steps + 1
        local kept = {}
        for _, ev in ipairs(real:step(wait)) do
          if ev.type ~= "done" then kept[#kept + 1] = ev end
        end
        return kept
      end,
    }, { __index = function(_, k) return function(_, ...) return real[k](real, ...) end end })
  end)
  after_each(function() ff._core = real end)

  it("ends with a transport error once nothing is in flight, instead of stepping an idle engine", function()
    steps = 0
    local job = assert(ff:generate_images({ prompt = "a lost fox", size = SIZE }, { wait = false }))
    local r, err = job:wait(5)
    assert.is_nil(r)
    assert.are.equal("transport", err.kind)
    assert.matches("nothing in flight", err.message)
    -- One step per poll of a 0.2 s job, not a spin.
    assert.is_true(steps < 20, "steps: " .. steps)
    assert.are.equal(0, ff:stats().pending)
  end)

  it("wakes a coroutine waiting for it too", function()
    local r, err = require("firefly").run(function() return ff:generate_images { prompt = "another", size = SIZE } end)
    assert.is_nil(r)
    assert.are.equal("transport", err.kind)
  end)
end)
