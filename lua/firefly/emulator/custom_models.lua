-- GET /v3/custom-models: a seeded list of custom models, paged and sorted as
-- Adobe's listing spec says (API-NOTES §3.10). Errors use that spec's own
-- family, {"reason": ..., "message": ...}.
local errors = require "firefly.emulator.errors"

local custom_models = {}

-- Adobe's enums (firefly-api.json, GET /v3/custom-models) and defaults.
custom_models.SORT_KEYS = { assetName = true, createdDate = true, modifiedDate = true }
custom_models.STATES = { all = true, ready = true, published = true, unpublished = true,
  queued = true, training = true, failed = true, cancelled = true }
custom_models.MAX_LIMIT = 50
-- With no limit the whole (filtered) list comes back [GUESS]; the spec gives no default.
custom_models.DEFAULT_LIMIT = 50

-- The seed list. `training` is the model's training state, which the
-- publishedState filter's ready/queued/training/failed/cancelled values select
-- [GUESS: the item schema has no such field, so it is not sent].
local T0 = 1733928288871 -- ms, Adobe's example createdDate
local SEED = {
  { "Warm Custom Model", "style", "published", "ready", 0 },
  { "Studio Mascot", "subject", "published", "ready", 1 },
  { "Pastel Product Shots", "style", "unpublished", "ready", 2 },
  { "Ink Sketch", "style", "published", "ready", 3 },
  { "Hero Character", "subject", "never", "training", 4 },
  { "Neon Signage", "style", "never", "queued", 5 },
  { "Broken Upload", "style", "never", "failed", 6 },
  { "Abandoned Try", "subject", "never", "cancelled", 7 },
}

local function iso_ms(ms)
  return os.date("!%Y-%m-%dT%H:%M:%S", ms // 1000) .. string.format(".%03dZ", ms % 1000)
end

local function model(row)
  local name, mode, published, training, i = row[1], row[2], row[3], row[4], row[5]
  local created = T0 + i * 86400000
  local modified = created + (7 - i) * 3600000 -- modified order differs from created order
  local uuid = string.format("bc1f46cd-be98-4a7b-9ffe-%012d", i + 1)
  return {
    version = "1",
    assetName = name .. ".ffcustommodel",
    size = 16513991265 - i * 1000003,
    etag = string.format('"%032x"', (i + 1) * 0x9e3779b9),
    trainingMode = mode,
    assetId = "urn:aaid:sc:VA6C2:" .. uuid,
    mediaType = "application/vnd.adobe.ffmodel+dcx",
    -- date-time strings as the spec types them (Adobe's doc example shows epoch ms).
    createdDate = iso_ms(created),
    modifiedDate = iso_ms(modified),
    publishedState = published,
    baseModel = { name = "clio_v2", version = "2.0.0" },
    samplePrompt = "A " .. name:lower() .. " sample",
    displayName = name,
    conceptId = mode == "subject" and ("sks " .. name:lower():gsub("%W", "")) or "",
    _training = training,
  }
end

function custom_models.seed()
  local list = {}
  for i, row in ipairs(SEED) do list[i] = model(row) end
  return list
end

local function bad(message)
  return errors.reason(400, "Bad Request", message)
end

local function count(s)
  if s == nil then return nil end
  if not s:match("^%d+$") then return false end
  return math.tointeger(tonumber(s))
end

local function keep(m, state)
  if state == "all" then return true end
  if state == "published" or state == "unpublished" then return m.publishedState == state end
  return m._training == state
end

local function public(m)
  local out = {}
  for k, v in pairs(m) do
    if k:sub(1, 1) ~= "_" then out[k] = v end
  end
  return out
end

local function query_string(q)
  local parts = {}
  for _, k in ipairs({ "start", "limit", "sortBy", "publishedState" }) do
    if q[k] then parts[#parts + 1] = k .. "=" .. q[k] end
  end
  return table.concat(parts, "&")
end

-- GET /v3/custom-models?start=&limit=&sortBy=&publishedState=
function custom_models.list(app, _ctx, req)
  local q = req.query
  local sort_by = q.sortBy or "modifiedDate"
  local descending = sort_by:sub(1, 1) == "-"
  local key = descending and sort_by:sub(2) or sort_by
  if not custom_models.SORT_KEYS[key] then
    return bad("sortBy must be assetName, createdDate or modifiedDate, optionally prefixed with '-'")
  end
  local state = q.publishedState or "published"
  if not custom_models.STATES[state] then
    return bad("publishedState must be one of all, ready, published, unpublished, queued, training, failed, cancelled")
  end
  local start, limit = count(q.start), count(q.limit)
  if start == false then return bad("start must be a non-negative integer") end
  if limit == false or (limit and (limit < 1 or limit > custom_models.MAX_LIMIT)) then
    return bad("limit must be an integer from 1 to " .. custom_models.MAX_LIMIT)
  end
  if limit and start == nil then return bad("start is required when limit is given") end
  start, limit = start or 0, limit or custom_models.DEFAULT_LIMIT

  local list = {}
  for _, m in ipairs(app.custom_models) do
    if keep(m, state) then list[#list + 1] = m end
  end
  table.sort(list, function(a, b)
    if a[key] == b[key] then return a.assetId < b.assetId end
    if descending then return a[key] > b[key] end
    return a[key] < b[key]
  end)
  local page = {}
  for i = start + 1, math.min(#list, start + limit) do page[#page + 1] = public(list[i]) end
  local links = { page = { href = "/v3/custom-models?start={start}&limit={limit}", rel = "page", templated = true } }
  if start + limit < #list then
    local nq = { start = tostring(start + limit), limit = tostring(limit), sortBy = q.sortBy,
      publishedState = q.publishedState }
    links.next = { href = "/v3/custom-models?" .. query_string(nq), rel = "next", templated = false }
  end
  local res = errors.json(200, { custom_models = page, _links = links, total_count = #list })
  -- This cjson writes an empty table as {}; an empty page is still an array.
  if #page == 0 then res.body = res.body:gsub('"custom_models":{}', '"custom_models":[]', 1) end
  return res
end

return custom_models
