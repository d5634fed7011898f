-- firefly.set_wait(require "firefly.wait.luv"): a generating call made inside
-- a coroutine running on luv's loop yields until the client's descriptor is
-- readable or its next deadline comes, whichever is first; uv.run() drives it.
--
-- libuv takes one poll handle per descriptor, so every call waiting on one
-- client shares one, and all of them wake when it turns readable. A check
-- handle, run after each turn of the loop, also wakes a call whose operation
-- another's step ended (pollable:timeout() is 0): the host's own poll handle
-- on ff:pollfd() (then this adapter cannot add one, and relies on it) or
-- another waiting call.
local uv = require "luv"

local polls = {}   -- descriptor -> { handle = uv poll, waiters = { [w] = true } }
local waiting = {} -- every call waiting now -> true
local check = nil  -- the check handle, running while some call waits

local function wake(w)
  if w.woken then return end
  w.woken = true
  waiting[w] = nil
  w.timer:stop()
  w.timer:close()
  local p = w.fd and polls[w.fd]
  if p then
    p.waiters[w] = nil
    if next(p.waiters) == nil then
      polls[w.fd] = nil
      p.handle:stop()
      p.handle:close()
    end
  end
  if next(waiting) == nil and check then check:stop() end
  if coroutine.status(w.co) ~= "suspended" then return end -- its yield failed (Lua 5.1, inside a pcall)
  local ok, err = coroutine.resume(w.co)
  if not ok then error(err, 0) end
end

-- Wakes each of list's waiters (a copy: waking one may add another).
local function wake_all(set, only_done)
  local list = {}
  for w in pairs(set) do list[#list + 1] = w end
  for _, w in ipairs(list) do
    if not only_done or w.pollable:timeout() == 0 then wake(w) end
  end
end

-- Watches fd for w, sharing the descriptor's one poll handle; false when the
-- host holds a poll handle of its own on it (libuv refuses a second).
local function watch(fd, w)
  local p = polls[fd]
  if not p then
    local handle = uv.new_poll(fd)
    if not handle then return false end
    p = { handle = handle, waiters = {} }
    polls[fd] = p
    handle:start("r", function() wake_all(p.waiters) end)
  end
  p.waiters[w] = true
  return true
end

return function(pollable)
  local w = { co = coroutine.running(), pollable = pollable, timer = uv.new_timer() }
  local fd, t = pollable:pollfd(), pollable:timeout()
  if fd and watch(fd, w) then w.fd = fd end
  waiting[w] = true
  if not check then check = uv.new_check() end
  check:start(function() wake_all(waiting, true) end)
  -- [GUESS] with no deadline (nothing pending) look again within a second.
  w.timer:start(math.max(0, math.ceil((t or 1) * 1000)), 0, function() wake(w) end)
  coroutine.yield()
end
