-- firefly.yieldable: the pcall ff:map wraps each item in. On Lua 5.1 a plain
-- pcall cannot be yielded through, and an item's generating call yields.
local yieldable = require "firefly.yieldable"

describe("a protected call that yields", function()
  it("passes yields out and resumed values back in, then returns the function's results", function()
    local co = coroutine.create(function()
      return yieldable.pcall(function(a)
        local b = coroutine.yield(a + 1)
        return a + b, "done"
      end, 1)
    end)
    local ok, first = coroutine.resume(co)
    assert.is_true(ok)
    assert.are.equal(2, first)
    local ok2, pok, sum, word = coroutine.resume(co, 10)
    assert.is_true(ok2)
    assert.are.same({ true, 11, "done" }, { pok, sum, word })
    assert.are.equal("dead", coroutine.status(co))
  end)

  it("catches an error raised after a yield, the error value unchanged", function()
    local err = { kind = "job_failed" }
    local co = coroutine.wrap(function()
      return yieldable.pcall(function()
        coroutine.yield()
        error(err)
      end)
    end)
    co()
    local ok, e = co()
    assert.is_false(ok)
    assert.are.equal(err, e)
  end)

  it("calls C functions too", function()
    assert.are.same({ false, "boom" }, { yieldable.pcall(error, "boom", 0) })
    assert.are.same({ true, 3 }, { yieldable.pcall(math.max, 1, 3) })
  end)

  it("is seen by running() as the coroutine that made it", function()
    local outer, inner
    local co = coroutine.wrap(function()
      outer = yieldable.running()
      yieldable.pcall(function() inner = yieldable.running() end)
    end)
    co()
    assert.is_not_nil(outer)
    assert.are.equal(outer, inner)
  end)

  it("reports no coroutine on the main thread", function()
    assert.is_nil(yieldable.running())
  end)
end)
