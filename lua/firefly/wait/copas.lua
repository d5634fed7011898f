-- firefly.set_wait(require "firefly.wait.copas"): a generating call made
-- inside a copas thread yields to copas's select loop until the client's
-- descriptor is readable. Copas waits only on sockets (copas.receive), so the
-- descriptor is lent to it as one that "times out" once and then reads "".
local copas = require "copas"

return function(pollable)
  local fd = pollable:pollfd()
  if not fd then error("firefly.wait.copas needs ff:pollfd() (epoll): none on this platform", 0) end
  local asked = false
  local lent = {
    getfd = function() return fd end,
    dirty = function() return false end,
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
