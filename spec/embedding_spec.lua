-- A host that embeds the client: its own use of shared modules and its own
-- coroutines change nothing inside the client.
local helper = require "helpers.emulator"
local cjson = require "cjson"

local SIZE = { width = 16, height = 16 }

describe("a host's own cjson settings", function()
  local emu, ff
  setup(function() emu, ff = helper.serve({ job_seconds = 0.2 }, { poll_interval = 0.1 }) end)
  teardown(function()
    -- The module's defaults, for the specs that share this process.
    cjson.encode_number_precision(14)
    cjson.decode_max_depth(1000)
    helper.close(emu, ff)
  end)

  it("do not round the numbers of a request body (encode_number_precision)", function()
    cjson.encode_number_precision(3)
    local r = assert(ff:generate_images { prompt = "a seed kept whole", size = SIZE, seeds = { 123456 } })
    cjson.encode_number_precision(14)
    assert.are.equal(123456, r.outputs[1].seed)
  end)

  it("do not make the client's decoding fail (decode_max_depth)", function()
    cjson.decode_max_depth(1)
    local r, err = ff:generate_images { prompt = "deep documents", size = SIZE }
    cjson.decode_max_depth(1000)
    assert(r, err and tostring(err))
    assert.are.equal(1, #r.outputs)
  end)
end)

describe("a host's coroutines", function()
  it("may submit from a coroutine that is gone long before the job's events are read", function()
    local emu, ff = helper.serve({ job_seconds = 0.2 }, { poll_interval = 0.1 })
    finally(function() helper.close(emu, ff) end)
    local co = coroutine.create(function()
      return assert(ff:generate_images({ prompt = "from a coroutine", size = SIZE }, { wait = false }))
    end)
    local _, j = assert(coroutine.resume(co))
    co = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    local r = assert(j:wait(10))
    assert.are.equal(1, #r.outputs)
  end)
end)
