-- pcall that a coroutine may yield through, on every Lua. Lua 5.2+ and LuaJIT
-- yield across pcall natively; Lua 5.1 raises "attempt to yield across
-- metamethod/C-call boundary". There the protected function runs in a
-- coroutine of its own and its yields are passed on to whoever resumes the
-- caller, as coxpcall does. yieldable.running() sees through those inner
-- coroutines, so the scheduler still knows which of its coroutines is running.

local yieldable = {}

-- Does pcall let a yield through? Asked once, of the interpreter itself.
local native = coroutine.wrap(function()
  local co = coroutine.create(function() return pcall(coroutine.yield) end)
  coroutine.resume(co)
  return coroutine.status(co) == "suspended"
end)()

if native then
  yieldable.pcall = pcall
  function yieldable.running()
    local co, main = coroutine.running()
    if main then return nil end
    return co
  end
  return yieldable
end

local outer = setmetatable({}, { __mode = "k" }) -- inner coroutine -> the one it runs for

local function finish(co, ok, ...)
  if not ok then
    outer[co] = nil
    return false, ...
  end
  if coroutine.status(co) == "dead" then
    outer[co] = nil
    return true, ...
  end
  -- The function yielded: yield the same values from the caller, hand back what it is resumed with.
  return finish(co, coroutine.resume(co, coroutine.yield(...)))
end

function yieldable.pcall(fn, ...)
  -- 5.1's coroutine.create takes only Lua functions.
  local co = coroutine.create(function(...) return fn(...) end)
  outer[co] = coroutine.running()
  return finish(co, coroutine.resume(co, ...))
end

function yieldable.running()
  local co = coroutine.running()
  while outer[co] do co = outer[co] end
  return co
end

return yieldable
