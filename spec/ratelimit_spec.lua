-- Client-side rate limiting (issue 4): rate_limit = {per_minute, per_day}
-- budgets the submits of every job of a client; polls and downloads are free.
-- The bucket arithmetic and the 429 pause are unit-tested in tests/test_ratelimit.c.
local helper = require "helpers.emulator"
local firefly = require "firefly"

local SIZE = { width = 16, height = 16 }

describe("rate_limit", function()
  local emu

  before_each(function() emu = helper.start { job_seconds = 0.2 } end)
  after_each(function() emu:stop() end)

  local function client(rate_limit)
    return firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
                         api_url = emu.url, ims_url = emu.url, rate_limit = rate_limit }
  end

  it("holds back submits beyond the budget, whichever job makes them", function()
    local ff = client { per_day = 2 }
    local jobs = {}
    for i = 1, 3 do jobs[i] = assert(ff:generate_images({ prompt = "p" .. i, size = SIZE }, { wait = false })) end
    assert(jobs[1]:wait(10))
    assert(jobs[2]:wait(10))
    -- Both finished (polls and downloads are not charged); the third never went.
    assert(jobs[1].result.outputs[1]:bytes())
    assert.are.equal(2, emu:count("POST", "^/v3/images/generate%-async$"))
    assert.are.equal("submitting", jobs[3].status)
    ff:close()
  end)

  it("lets a held-back submit be cancelled without it ever reaching the server", function()
    local ff = client { per_minute = 1 }
    local a = assert(ff:generate_images({ prompt = "a", size = SIZE }, { wait = false }))
    local b = assert(ff:generate_images({ prompt = "b", size = SIZE }, { wait = false }))
    assert(a:wait(10))
    assert.is_true(b:cancel())
    local r, err = b:wait(5)
    assert.is_nil(r)
    assert.are.equal("canceled", err.kind)
    assert.are.equal(1, emu:count("POST", "^/v3/images/generate%-async$"))
    ff:close()
  end)

  it("makes a resend after an unknown outcome wait for the budget like any submit", function()
    local gw = helper.start { job_seconds = 0.2,
      extra = { ["faults-script"] = "POST /v3/images/generate-async=502" } }
    finally(function() gw:stop() end)
    local ff = firefly.new { client_id = gw.client_id, client_secret = gw.client_secret,
                             api_url = gw.url, ims_url = gw.url, rate_limit = { per_minute = 1 },
                             retry_unknown_outcome = true }
    local j = assert(ff:generate_images({ prompt = "once a minute", size = SIZE }, { wait = false }))
    -- The first submit spent the minute's one token; its 502 asks for a resend.
    for _ = 1, 40 do
      ff:step(0.05)
      if gw:count("POST", "^/v3/images/generate%-async$") > 0 and (ff:timeout() or 0) > 1 then break end
    end
    for _ = 1, 5 do ff:step(0.05) end
    assert.are.equal(1, gw:count("POST", "^/v3/images/generate%-async$"))
    assert.are.equal("submitting", j.status)
    -- The resend waits for the budget's next token, tens of seconds away.
    assert.is_true(ff:timeout() > 30, "the next work is in " .. tostring(ff:timeout()) .. " s")
    ff:close()
  end)

  it("runs at full speed without a budget", function()
    local ff = client(nil)
    local _, errs = ff:map({ 1, 2, 3, 4, 5, 6 }, function(i)
      return ff:generate_images { prompt = "p" .. i, size = SIZE }
    end, { concurrency = 6 })
    assert.are.same({}, errs)
    ff:close()
  end)

  it("refuses a budget it does not understand, by name", function()
    assert.has_error(function() client { per_hour = 3 } end,
      "firefly.new: rate_limit takes per_minute and per_day, not 'per_hour'")
    assert.has_error(function() client { per_minute = 0 } end,
      "firefly.new: option 'rate_limit.per_minute' must be a number from 0.001 to 10000, got 0")
  end)

  describe("after a 429", function()
    local paused

    before_each(function()
      -- The first submit is answered 429 with retry-after: 2; every later one is fine.
      paused = helper.start { job_seconds = 0.2, extra = {
        "--faults-script", "POST /v3/images/generate-async=429,ok", "--fault-retry-after", "2" } }
    end)
    after_each(function() paused:stop() end)

    it("holds every submit of the client until the retry-after has passed", function()
      local ff = firefly.new { client_id = paused.client_id, client_secret = paused.client_secret,
                               api_url = paused.url, ims_url = paused.url }
      local first = assert(ff:generate_images({ prompt = "first", size = SIZE }, { wait = false }))
      local t429
      for _ = 1, 200 do -- step until the emulator has answered the 429
        ff:step(0.05)
        for _, line in ipairs(paused:log()) do
          if line.status == 429 then t429 = line.time end
        end
        if t429 then break end
      end
      assert.is_number(t429)
      -- Two more jobs, submitted after the 429 arrived: they wait their turn too.
      local others = {}
      for i = 1, 2 do
        others[i] = assert(ff:generate_images({ prompt = "later " .. i, size = SIZE }, { wait = false }))
      end
      assert(first:wait(20))
      for i = 1, 2 do assert(others[i]:wait(20)) end
      local accepted = 0
      for _, line in ipairs(paused:log()) do
        if line.method == "POST" and line.path == "/v3/images/generate-async" and line.time > t429 then
          -- 0.1 s of slack for the two clocks' rounding, not for scheduling: an
          -- unpaused submit would arrive within milliseconds of the 429.
          assert.is_true(line.time >= t429 + 2 - 0.1,
            ("a submit reached the server %.2f s after the 429"):format(line.time - t429))
          accepted = accepted + 1
        end
      end
      assert.are.equal(3, accepted) -- the retried first submit and the two others
      ff:close()
    end)
  end)
end)
