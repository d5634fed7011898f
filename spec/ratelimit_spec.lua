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
      "firefly.new: rate_limit.per_minute must be a positive number")
  end)
end)
