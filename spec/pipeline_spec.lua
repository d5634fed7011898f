-- Pipelines (issue 4): ff:map over many items, in input order, with
-- per-item errors, fail_fast, progress, a summary, and ff:cancel_all.
local helper = require "helpers.emulator"
local firefly = require "firefly"

local SIZE = { width = 16, height = 16 }

describe("pipeline", function()
  local emu, ff

  before_each(function()
    emu = helper.start { job_seconds = 0.3 }
    ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
                       api_url = emu.url, ims_url = emu.url }
  end)

  after_each(function()
    ff:close()
    emu:stop()
  end)

  local function generate(prompt)
    return ff:generate_images { prompt = prompt, size = SIZE }
  end

  describe("ff:map", function()
    it("keeps results in input order and records one item's error without stopping the rest", function()
      local items = { "a", "", "c", "d" } -- "" is refused by validation, before the network
      local results, errs, summary = ff:map(items, generate, { concurrency = 2 })
      assert.are.equal("validation", errs[2].kind)
      assert.is_nil(results[2])
      for _, i in ipairs { 1, 3, 4 } do
        assert.are.equal("table", type(results[i].outputs))
        assert.is_nil(errs[i])
      end
      assert.are.equal(3, emu:count("POST", "^/v3/images/generate%-async$"))
      assert.are.same({ total = 4, done = 3, failed = 1, cached = 0, canceled = 0 },
        { total = summary.total, done = summary.done, failed = summary.failed,
          cached = summary.cached, canceled = summary.canceled })
      assert.is_true(summary.elapsed > 0)
    end)

    it("turns a raised error or a plain nil, message into an error for that item", function()
      local _, errs = ff:map({ 1, 2 }, function(x)
        if x == 1 then error("boom") end
        return nil, "no luck"
      end)
      assert.matches("boom", tostring(errs[1]))
      assert.matches("no luck", tostring(errs[2]))
    end)

    it("counts an item whose fn returns false (or false, err) as failed, not done", function()
      local results, errs, summary = ff:map({ 1, 2, 3 }, function(x)
        if x == 1 then return false, "not this one" end
        if x == 2 then return false end
        return x
      end)
      assert.matches("not this one", tostring(errs[1]))
      assert.matches("returned false", tostring(errs[2]))
      assert.is_nil(results[1])
      assert.are.equal(3, results[3])
      assert.are.equal(1, summary.done)
      assert.are.equal(2, summary.failed)
    end)

    it("with fail_fast, cancels every job in flight and starts no more items", function()
      local items = { "missing", "b", "c", "d", "e" }
      local results, errs, summary = ff:map(items, function(x)
        if x == "missing" then
          -- Fails at its first poll, while the others are still running.
          return ff:job("urn:ff:jobs:nope:00000000-0000-0000-0000-000000000000")
        end
        return generate(x)
      end, { concurrency = 3, fail_fast = true })
      assert.is_not_nil(errs[1])
      assert.are.equal("canceled", errs[2].kind)
      assert.are.equal("canceled", errs[3].kind)
      assert.are.equal("canceled", errs[4].kind)
      assert.are.equal("canceled", errs[5].kind)
      assert.are.same({}, results)
      assert.are.equal(2, emu:count("POST", "^/v3/images/generate%-async$"))
      assert.is_true(emu:count("PUT", "^/v3/cancel/") >= 2)
      assert.are.equal(1, summary.failed)
      assert.are.equal(4, summary.canceled)
    end)

    it("reports per-job and whole-batch progress through on_progress", function()
      local seen = { job = 0, item = 0, batch = 0 }
      local last
      ff:map({ "a", "b", "c" }, generate, {
        concurrency = 3,
        on_progress = function(p)
          seen[p.event] = seen[p.event] + 1
          if p.event == "job" then
            assert.is_number(p.index)
            assert.are.equal(p.job.status, p.status)
          end
          assert.is_true(p.percent >= 0 and p.percent <= 100)
          last = p
        end,
      })
      assert.is_true(seen.job >= 3)
      assert.are.equal(3, seen.item)
      assert.are.equal(1, seen.batch)
      assert.are.equal(3, last.done)
      assert.are.equal(100, last.percent)
    end)

    it("reads a chain of calls inside one item as plain sequential code", function()
      local results, errs = ff:map({ "a castle" }, function(prompt)
        local first, err = generate(prompt)
        if not first then return nil, err end
        local seed = first.outputs[1].seed
        local again = assert(ff:generate_images { prompt = prompt .. ", at night", seeds = { seed }, size = SIZE })
        return { seed = seed, again = again.outputs[1].seed }
      end)
      assert.are.same({}, errs)
      assert.are.equal(results[1].seed, results[1].again)
      assert.are.equal(2, emu:count("POST", "^/v3/images/generate%-async$"))
    end)

    it("refuses a concurrency that is not a whole number of at least 1, naming it, and takes math.huge", function()
      for _, bad in ipairs { 0, -1, 1.5, 0 / 0 } do
        local ok, err = pcall(ff.map, ff, { 1 }, function() return true end, { concurrency = bad })
        assert.is_false(ok)
        assert.truthy(tostring(err):find("concurrency must be a whole number >= 1, got " .. tostring(bad), 1, true),
          tostring(err))
      end
      local results = ff:map({ 1, 2 }, function(i) return i * 10 end, { concurrency = math.huge })
      assert.are.same({ 10, 20 }, results)
    end)
  end)

  describe("ff:cancel_all", function()
    it("cancels every job in flight", function()
      local jobs = {}
      for i = 1, 3 do jobs[i] = assert(ff:generate_images({ prompt = "p" .. i, size = SIZE }, { wait = false })) end
      ff:step(0.2)
      assert.are.equal(3, ff:cancel_all())
      for i = 1, 3 do
        local r, err = jobs[i]:wait(10)
        assert.is_nil(r)
        assert.are.equal("canceled", err.kind)
      end
    end)

    it("stops a running ff:map from starting more items", function()
      local started = 0
      local _, errs, summary = ff:map({ 1, 2, 3, 4 }, function(i)
        started = started + 1
        if i == 1 then ff:cancel_all() return true end
        return generate("x")
      end, { concurrency = 1 })
      assert.are.equal(1, started)
      assert.are.equal(3, summary.canceled)
      assert.are.equal("canceled", errs[4].kind)
    end)
  end)
end)
