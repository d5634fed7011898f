-- firefly.set_wait(require "firefly.wait.cqueues"): a generating call made
-- inside a cqueues controller's coroutine yields to the controller, which
-- polls the client's descriptor (cqueues.poll takes any pollable).
local cqueues = require "cqueues"

return function(pollable)
  if pollable:pollfd() then
    cqueues.poll(pollable)
  else
    cqueues.sleep(pollable:timeout() or 0.01) -- no epoll here: sleep to the next deadline
  end
end
