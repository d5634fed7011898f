-- Custom models (GET /v3/custom-models): ff:list_custom_models(query) for one
-- page, ff:custom_models(query) to iterate over every page. The query is
-- checked against Adobe's current document before anything is sent, in the
-- client's validate mode ("strict" refuses, "warn" logs and sends, "off" sends).

local errors = require "firefly.errors"
local openapi = require "firefly.openapi"
local operations = require "firefly.operations"
local schema = require "firefly.schema"
local validate = require "firefly.validate"

local models = {}

-- The enum of one of the path's query parameters in Adobe's document.
local function enum_of(name)
  local entry = operations.get("list_custom_models")
  local get = openapi[entry.document].paths[entry.path].get
  for _, p in ipairs(get.parameters or {}) do
    if p.name == name and p.schema then return p.schema.enum end
  end
  return {}
end

-- Adobe's query parameters (API-NOTES §3.10, §10.2), their enums read from the document on first use.
-- sortBy: the document's enum has no "-" form; Adobe's prose says a "-" prefix reverses the order.
-- The document wins (API-NOTES §10): "-modifiedDate" is refused in strict mode.
setmetatable(models, { __index = function(_, k)
  if k == "SORT_KEYS" then
    rawset(models, k, enum_of("sortBy"))
  elseif k == "STATES" then
    rawset(models, k, enum_of("publishedState"))
  end
  return rawget(models, k)
end })
models.MAX_LIMIT = 50
local ORDER = { "start", "limit", "sortBy", "publishedState" }

local function member(list, v)
  for _, x in ipairs(list) do
    if x == v then return true end
  end
  return false
end

local function whole(v)
  if type(v) == "string" and v:match("^%d+$") then v = tonumber(v) end
  return type(v) == "number" and v >= 0 and v == math.floor(v) and v or nil
end

-- The checked query as strings, or nil and the pydantic-style error list.
-- mode: "strict" (the default), "warn" (errors go to warn(text) and the query
-- is sent as given) or "off" (sent as given, unchecked).
function models.query(q, mode, warn)
  if q == nil then return {} end
  if mode == "off" or mode == "warn" then
    local out = {}
    for k, v in pairs(q) do out[k] = type(v) == "number" and ("%d"):format(v) or tostring(v) end
    if mode == "warn" then
      local _, errs = models.query(q, "strict")
      for _, e in ipairs(errs or {}) do
        warn("list_custom_models: " .. validate.describe(e) .. " (sent anyway: validate = \"warn\")")
      end
    end
    return out
  end
  local errs, out = {}, {}
  local function bad(key, msg, kind, ctx)
    errs[#errs + 1] = schema.error({ "query", key }, msg, kind, ctx)
  end
  for k in pairs(q) do
    if not member(ORDER, k) then
      bad(tostring(k), "extra fields not permitted (takes start, limit, sortBy, publishedState)", "value_error.extra")
    end
  end
  if q.sortBy ~= nil then
    if not member(models.SORT_KEYS, q.sortBy) then
      local reversed = type(q.sortBy) == "string" and member(models.SORT_KEYS, (q.sortBy:gsub("^%-", "")))
      bad("sortBy", "must be one of " .. table.concat(models.SORT_KEYS, ", ")
        .. (reversed and " (Adobe's prose mentions a '-' prefix to reverse; its document's enum has none)" or ""),
        "type_error.enum", { enum_values = models.SORT_KEYS })
    else
      out.sortBy = q.sortBy
    end
  end
  if q.publishedState ~= nil then
    if not member(models.STATES, q.publishedState) then
      errs[#errs + 1] = schema.enum_error({ "query", "publishedState" }, models.STATES)
    else
      out.publishedState = q.publishedState
    end
  end
  if q.start ~= nil then
    local n = whole(q.start)
    if not n then bad("start", "value is not a valid non-negative integer", "type_error.integer")
    else out.start = ("%d"):format(n) end
  end
  if q.limit ~= nil then
    local n = whole(q.limit)
    if not n or n < 1 or n > models.MAX_LIMIT then
      bad("limit", "ensure this value is an integer from 1 to 50", "value_error.number.not_in_range",
        { limit_value = models.MAX_LIMIT })
    else
      out.limit = ("%d"):format(n)
      out.start = out.start or "0" -- Adobe: start is required when limit is given
    end
  end
  if #errs > 0 then return nil, errs end
  return out
end

-- A query value as sent: with validate "off" or "warn" it is the user's string as given,
-- so a space, '&' or a NUL byte (which C would cut the URL at) goes percent-encoded.
local function encode(v)
  return (tostring(v):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function url_for(client, q)
  local parts = {}
  for _, k in ipairs(ORDER) do
    if q[k] then parts[#parts + 1] = k .. "=" .. encode(q[k]) end
  end
  local url = client._opts.api_url .. "/v3/custom-models"
  return #parts > 0 and (url .. "?" .. table.concat(parts, "&")) or url
end

-- One page: Adobe's document ({custom_models, total_count, _links}) plus request_id.
function models.list(client, query, mode)
  local q, errs = models.query(query, mode or client._opts.validate, function(text) client:_warn(text) end)
  if not q then return nil, errors.validation(errs, validate) end
  local handle, err = client._core:request("GET", url_for(client, q), nil, nil, "idempotent")
  if not handle then return nil, errors.from_core(err) end
  local ev, werr = client:_transfer(handle):wait()
  if not ev then return nil, werr end
  local doc = type(ev.data) == "table" and ev.data or {}
  doc.custom_models = doc.custom_models or {}
  doc.request_id = ev.request_id
  return doc
end

-- An iterator over every model of every page: `for model in ff:custom_models(q) do`.
-- A failure (bad query, HTTP error) is raised as the error value; wrap the loop
-- in pcall to handle it.
function models.each(client, query)
  local q, errs = models.query(query, client._opts.validate, function(text) client:_warn(text) end)
  if not q then error(errors.validation(errs, validate), 2) end
  local page, i = nil, 0
  local start = tonumber(q.start or "0")
  local limit = q.limit or tostring(models.MAX_LIMIT)
  local done = false
  return function()
    while not done do
      if page and i < #page.custom_models then
        i = i + 1
        return page.custom_models[i]
      end
      if page and (#page.custom_models == 0 or start >= (tonumber(page.total_count) or 0)) then
        done = true
        break
      end
      local p, err = models.list(client, { start = start, limit = limit, sortBy = q.sortBy,
        publishedState = q.publishedState }, "off") -- checked once, above
      if not p then
        done = true
        error(err, 0)
      end
      page, i = p, 0
      start = start + #p.custom_models
    end
    return nil
  end
end

return models
