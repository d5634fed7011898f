-- Adobe's error bodies. There are three families (API-NOTES 5.1) plus the
-- OAuth shape IMS uses and the XML S3 sends for pre-signed URLs; every error
-- the emulator sends is built here so the shapes live in one place.
local util = require "firefly.emulator.util"

local errors = {}

local function json(status, doc, headers)
  local h = { ["Content-Type"] = "application/json" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return { status = status, headers = h, body = util.json(doc) }
end
errors.json = json

-- Family 1: Firefly service errors (ApiError / AsyncApiErrorV3).
-- `message` and `extra` are optional; many of Adobe's examples carry only error_code.
function errors.firefly(status, code, message, extra)
  local doc = { error_code = code, message = message }
  for k, v in pairs(extra or {}) do doc[k] = v end
  return json(status, doc)
end

-- Family 2: the Adobe I/O gateway, numeric codes as strings.
function errors.gateway(status, code, message)
  return json(status, { error_code = code, message = message })
end

-- Family 3: custom models.
function errors.reason(status, reason, message)
  return json(status, { reason = reason, message = message })
end

-- IMS: RFC 6749 shape [GUESS, API-NOTES 1.2].
function errors.oauth(status, code, description)
  return json(status, { error = code, error_description = description })
end

-- Pre-signed URL failures look like S3's.
function errors.s3(status, code, message, fields)
  local parts = { '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>', code,
    "</Code><Message>", message, "</Message>" }
  for _, kv in ipairs(fields or {}) do
    parts[#parts + 1] = string.format("<%s>%s</%s>", kv[1], kv[2], kv[1])
  end
  parts[#parts + 1] = "<RequestId>" .. util.hex(util.random_bytes(8)):upper() .. "</RequestId></Error>"
  return { status = status, headers = { ["Content-Type"] = "application/xml" },
    body = table.concat(parts) }
end

-- Not Adobe's: paths and methods the emulator does not know [GUESS].
function errors.not_found(method, path)
  return errors.firefly(404, "not_found", "No such endpoint: " .. method .. " " .. path)
end

function errors.method_not_allowed(method, path, allowed)
  local r = errors.firefly(405, "method_not_allowed",
    "Method " .. method .. " is not allowed on " .. path)
  r.headers["Allow"] = table.concat(allowed, ", ")
  return r
end

return errors
