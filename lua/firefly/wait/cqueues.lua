-- firefly.set_wait(require "firefly.wait.cqueues"): a generating call made
-- inside a cqueues controller's coroutine yields to the controller, which
-- polls the client's descriptor (cqueues.poll takes any pollable).
local cqueues = require "cqueues"

return function(pollable)
  local fd = pollable:pollfd()
  if fd then
    cqueues.poll(pollable)
    -- This call's operation is over, and the client may be closed next (its
    -- descriptor with it): cqueues must forget the descriptor first, or its
    -- loop fails on it ("Bad file descriptor"). Any other call waiting on it
    -- wakes, looks, and waits again.
    if pollable:timeout() == 0 then cqueues.cancel(fd) end
  else
    cqueues.sleep(pollable:timeout() or 0.01) -- no epoll here: sleep to the next deadline
  end
end
