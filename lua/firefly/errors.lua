-- Errors as values: everything that can go wrong at run time comes back as
-- `nil, err`, where err is a table with a __tostring. Fields (DESIGN.md):
-- kind, status, code, message, request_id, job_id, retry_after, attempts,
-- details. Nothing secret is ever put in one: the C core never copies a
-- token or key into an error, and neither does this file.

local errors = {}

local Error = {}
Error.__index = Error

function Error.__tostring(e)
  local parts = { "firefly: ", e.kind, " error" }
  if e.status then parts[#parts + 1] = " (HTTP " .. tostring(e.status) .. ")" end
  parts[#parts + 1] = ": "
  parts[#parts + 1] = e.message or "(no message)"
  if e.code and not tostring(e.message or ""):find(e.code, 1, true) then
    parts[#parts + 1] = " [" .. e.code .. "]"
  end
  if e.job_id then parts[#parts + 1] = " job=" .. e.job_id end
  if e.request_id then parts[#parts + 1] = " request_id=" .. e.request_id end
  return table.concat(parts)
end

function errors.new(t)
  return setmetatable(t, Error)
end

function errors.is(v)
  return getmetatable(v) == Error
end

-- From the core's error table: prefer the server's own words when it gave any.
function errors.from_core(t, extra)
  local e = {
    kind = t.kind, status = t.status, code = t.code, request_id = t.request_id,
    job_id = t.job_id, retry_after = t.retry_after, attempts = t.attempts,
    details = t.details, message = t.server_message or t.message,
  }
  if t.server_message and t.message and t.kind == "transport" then
    e.message = t.message .. ": " .. t.server_message
  end
  for k, v in pairs(extra or {}) do e[k] = v end
  return errors.new(e)
end

-- A request refused before it was sent, naming the field as Adobe's `loc` does.
function errors.validation(list, validate)
  return errors.new {
    kind = "validation",
    message = validate.message(list),
    details = list,
  }
end

return errors
