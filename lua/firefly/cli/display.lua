-- How a batch shows itself while it runs. On a terminal: one live status
-- block (done / failed / in flight / queued, the rate-limit wait counting
-- down, elapsed, ETA from the observed rate) redrawn in place, with a line
-- above it per finished row. Off a terminal: one plain line per finished row
-- and a heartbeat every 30 s. With --json: one JSON event per line.

local cjson = require("cjson").new()
local plan = require "firefly.cli.plan"

local display = {}

local HEARTBEAT = 30 -- seconds between plain heartbeat lines

local D = {}
D.__index = D

-- mode: "tty" | "plain" | "json"; out, err: file handles.
function display.new(mode, out, err, now)
  return setmetatable({ mode = mode, out = out, err = err, now = now, drawn = 0, last_beat = now(),
    last_draw = -1 }, D)
end

local function fmt_eta(s)
  if not s then return "-" end
  return plan.duration(s)
end

-- c: {total, done, failed, canceled, in_flight, waiting, queued, elapsed, eta, rate_wait}
local function block(c)
  local lines = {
    ("  done %d   failed %d   in flight %d   queued %d   (of %d)")
      :format(c.done, c.failed, c.in_flight, c.queued, c.total),
  }
  if c.waiting > 0 then
    lines[#lines + 1] = c.rate_wait and c.rate_wait > 0
      and ("  rate limit: %d waiting to submit, next slot in %d s"):format(c.waiting, math.ceil(c.rate_wait))
      or ("  rate limit: %d waiting to submit"):format(c.waiting)
  end
  lines[#lines + 1] = ("  elapsed %s   ETA %s"):format(plan.duration(c.elapsed), fmt_eta(c.eta))
  return lines
end

function D:_clear()
  if self.drawn > 0 then
    self.err:write(("\27[%dA\27[J"):format(self.drawn))
    self.drawn = 0
  end
end

function D:_draw(c)
  local lines = block(c)
  self.err:write(table.concat(lines, "\n"), "\n")
  self.drawn = #lines
  self.err:flush()
end

function D:json(ev)
  self.out:write(cjson.encode(ev), "\n")
  self.out:flush()
end

-- A row ended: r = {line, name, status, outputs = {file...}, error, job_id}.
function D:row(r, c)
  if self.mode == "json" then
    return self:json { event = "row", line = r.line, name = r.name, status = r.status, job_id = r.job_id,
      outputs = r.files, error = r.error, done = c.done, failed = c.failed, total = c.total }
  end
  local text = r.status == "succeeded"
    and ("ok     line %d %s -> %s"):format(r.line, r.name, table.concat(r.files, ", "))
    or ("%-6s line %d %s: %s"):format(r.status == "failed" and "FAILED" or r.status, r.line, r.name, r.error or "")
  if self.mode == "tty" then
    self:_clear()
    self.err:write(text, "\n")
    self:_draw(c)
  else
    self.err:write(("[%d/%d] %s\n"):format(c.done + c.failed + c.canceled, c.total, text))
    self.err:flush()
  end
end

-- Between steps: redraw the block (at most 4 times a second), or a heartbeat.
function D:tick(c)
  local t = self.now()
  if self.mode == "tty" then
    if t - self.last_draw < 0.25 then return end
    self.last_draw = t
    self:_clear()
    self:_draw(c)
  elseif t - self.last_beat >= HEARTBEAT then
    self.last_beat = t
    if self.mode == "json" then
      return self:json { event = "heartbeat", done = c.done, failed = c.failed, in_flight = c.in_flight,
        queued = c.queued, waiting = c.waiting, elapsed = c.elapsed, eta = c.eta, rate_wait = c.rate_wait }
    end
    self.err:write(("... %d done, %d failed, %d in flight, %d queued; elapsed %s, ETA %s\n")
      :format(c.done, c.failed, c.in_flight, c.queued, plan.duration(c.elapsed), fmt_eta(c.eta)))
    self.err:flush()
  end
end

-- A line of news outside the rows (interrupt, gallery problems).
function D:note(text)
  if self.mode == "json" then return self:json { event = "note", message = text } end
  if self.mode == "tty" then self:_clear() end
  self.err:write(text, "\n")
  self.err:flush()
end

function D:done()
  if self.mode == "tty" then self:_clear() end
end

return display
