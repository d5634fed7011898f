-- firefly.set_wait(require "firefly.wait.copas"): a generating call made
-- inside a copas thread yields to copas's select loop until the client's
-- descriptor is readable. Copas waits only on sockets (copas.receive), so the
-- descriptor is lent to it as one that "times out" once and then reads "".
--
-- LuaSocket's select hands back one socket per descriptor, so of several
-- threads waiting on one client only one wakes when it turns readable; the
-- step it makes may end the others' operations. A lent socket is "dirty"
-- (select returns it at once) when its wait is over (pollable:timeout() is 0),
-- so those wake at copas's next step instead of waiting for a descriptor that
-- may never turn readable again.
local copas = require "copas"

return function(pollable)
  local fd = pollable:pollfd()
  if not fd then error("firefly.wait.copas needs ff:pollfd() (epoll): none on this platform", 0) end
  local asked = false
  local lent = {
    getfd = function() return fd end,
    dirty = function() return pollable:timeout() == 0 end,
    settimeout = function() end,
    close = function() end, -- copas closes a finished thread's last socket
    receive = function()
      if asked then return "" end
      asked = true
      return nil, "timeout"
    end,
  }
  copas.receive(lent, 0)
end
