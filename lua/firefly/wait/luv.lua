-- firefly.set_wait(require "firefly.wait.luv"): a generating call made inside
-- a coroutine running on luv's loop yields until the client's descriptor is
-- readable or its next deadline comes, whichever is first; uv.run() drives it.
local uv = require "luv"

return function(pollable)
  local co = coroutine.running()
  local fd, t = pollable:pollfd(), pollable:timeout()
  local poll, timer, woken = nil, uv.new_timer(), false
  local function wake()
    if woken then return end
    woken = true
    timer:stop()
    timer:close()
    if poll then
      poll:stop()
      poll:close()
    end
    local ok, err = coroutine.resume(co)
    if not ok then error(err, 0) end
  end
  if fd then
    poll = uv.new_poll(fd)
    poll:start("r", wake)
  end
  -- [GUESS] with no deadline (nothing pending) look again within a second.
  timer:start(math.max(0, math.ceil((t or 1) * 1000)), 0, wake)
  coroutine.yield()
end
