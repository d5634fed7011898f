-- Request-body handling shared by the Firefly JSON endpoints.
local cjson = require "cjson"
local errors = require "firefly.emulator.errors"
-- Required, not optional: an emulator that cannot validate would accept
-- every body and hide a client's mistakes, so it must not start.
local validate = require "firefly.validate"

local http = {}

-- The media type without parameters, lowercased ("application/json").
function http.media_type(req)
  local ct = req.headers["content-type"] or ""
  return (ct:match("^%s*([^;%s]*)") or ""):lower()
end

-- Decodes a JSON object body the way the async endpoints do; returns the
-- table, or nil and the error response (400 empty_input_body / 415 / 400 bad_request).
function http.json_body(req)
  if req.body:match("^%s*$") then
    return nil, errors.firefly(400, "empty_input_body")
  end
  -- multipart/form-data is Adobe's other accepted type; the emulator does not
  -- take it yet, and says so the way Adobe refuses any other type.
  if http.media_type(req) ~= "application/json" then
    return nil, errors.firefly(415, "invalid_content_type")
  end
  if not req.body:match("^%s*{") then
    return nil, errors.firefly(400, "bad_request", "The request body must be a JSON object.")
  end
  -- JSON text is UTF-8 (RFC 8259) and lua-cjson reads any bytes: Lua 5.4's strict
  -- utf8.len refuses what a strict parser would, apart from the client's own check
  -- [GUESS: Adobe answers bytes that are not UTF-8 as any malformed JSON].
  local ok, doc = pcall(cjson.decode, req.body)
  if not ok or type(doc) ~= "table" or not utf8.len(req.body) then
    return nil, errors.firefly(400, "bad_request", "The request body is not valid JSON.")
  end
  return doc
end

-- Runs firefly.validate's rules for `op`; returns the 422 response or nil.
function http.validate(op, body, req)
  local version = req.headers["x-model-version"]
  local errs = validate.request(op, body, { model_version = version })
  -- Image 5 and video mark the header required (API-NOTES §10.5); the validator takes
  -- a missing one as the client's default, the server cannot: FastAPI's missing header
  -- [GUESS the body], before the body's errors as FastAPI orders them.
  if version == nil and validate.operation(op).model_version_required then
    errs = errs or {}
    table.insert(errs, 1, { loc = { "header", "x-model-version" }, msg = "field required",
      type = "value_error.missing" })
  end
  if errs == nil or #errs == 0 then return nil end
  return errors.firefly(422, "validation_error", "Request validation failed.",
    { validation_errors = errs })
end

return http
