-- Request bodies for the differential validation test (spec/validation_oracle_spec.lua):
-- for every operation a few valid bases written by hand, then every edge the
-- operation's schema in Adobe's current document has, each applied to a copy of a
-- base: a field removed, set to null, to each wrong JSON type, to each enum member and
-- to one that is not, to its min and max and one past them, lists at and past their
-- item counts and with a duplicate, strings at and past their lengths (in multibyte
-- characters too), formats broken, an unknown field added. Fields a base lacks are
-- added with a sampled value first, so every field of the schema is reached.
--
-- A case is {op, opts, json, what}: `json` is the body as the wire carries it (an
-- empty list stays `[]`, which a Lua table cannot say). The walk reads the document
-- with plain table access, none of firefly/schema.lua: it only proposes bodies, the
-- two judges decide.

local cjson = require "cjson"

local M = {}

M.UPLOAD = "510aabb4-e154-4a7b-bd2e-f492ee71c938"
M.MASK = "6c1e0a2b-3d4f-4a5b-8c7d-9e0f1a2b3c4d"
M.S3 = "https://my-bucket.s3.amazonaws.com/in.jpg?X-Amz-Signature=abc"

-- Encoded as [] (cjson writes an empty table as {}).
local EMPTY = setmetatable({}, { __name = "empty array" })
M.EMPTY = EMPTY
local NULL = cjson.null
local MARK = "\1empty-array\1"

local function src(id) return { source = { uploadId = id or M.UPLOAD } } end
local function url_src() return { source = { url = M.S3 } } end

-- Valid bases per operation: every one passes both judges (the spec checks that first).
-- Between them they reach each kind of source and the fields that exclude each other.
M.BASES = {
  generate_images = {
    { body = { prompt = "an almond seed in a warm setting" } },
    { body = { prompt = "a lighthouse", negativePrompt = "people", numVariations = 2, seeds = { 1, 2 },
      size = { width = 2048, height = 2048 }, contentClass = "photo", visualIntensity = 6,
      style = { presets = { "bw" }, strength = 50, imageReference = src() },
      structure = { strength = 40, imageReference = url_src() },
      promptBiasingLocaleCode = "en-US", upsamplerType = "default" } },
    { body = { prompt = "a custom bean", customModelId = "urn:aaid:sc:VA6C2:x", upsamplerType = "low_creativity" },
      opts = { model_version = "image4_custom" } },
  },
  generate_similar_images = {
    { body = { image = src(), numVariations = 1, seeds = { 3 }, size = { width = 1024, height = 1024 } } },
    { body = { image = url_src() }, opts = { model_version = "image4_ultra" } },
  },
  expand_image = {
    { body = { image = src(), prompt = "pine trees", numVariations = 2, seeds = { 1, 2 },
      size = { width = 2500, height = 2500 },
      placement = { inset = { left = 1, top = 2, right = 3, bottom = 4 },
        alignment = { horizontal = "left", vertical = "bottom" } } } },
    { body = { image = src(), mask = { source = { uploadId = M.MASK }, invert = true } } },
  },
  fill_image = {
    { body = { image = src(), mask = { source = { uploadId = M.MASK }, invert = false },
      prompt = "a kite", negativePrompt = "text", promptBiasingLocaleCode = "en-US",
      numVariations = 1, seeds = { 9 }, size = { width = 1024, height = 1024 } } },
    { body = { image = url_src(), mask = url_src() } },
  },
  generate_object_composite = {
    { body = { image = src(), prompt = "on a desk", contentClass = "art", numVariations = 1, seeds = { 4 },
      size = { width = 2048, height = 2048 }, placement = { alignment = { horizontal = "center", vertical = "top" } },
      style = { presets = { "watercolor" }, strength = 1, imageReference = src() } } },
    { body = { image = src(), prompt = "on a desk", mask = { source = { uploadId = M.MASK } } } },
  },
  generate_images_v5 = {
    { body = { prompt = "a fox in snow" } },
    { body = { prompt = "a fox in snow", aspectRatio = "16:9", resolutionLevel = "4MP", modelId = "firefly_image",
      modelSpecificPayload = { localeCode = "en-US", prompt_reasoner = "quality" }, numVariations = 1, seeds = { 7 } },
      opts = { model_version = "image5" } },
    { body = { prompt = "like this one", aspectRatio = "auto",
      referenceBlobs = { { source = { uploadId = M.UPLOAD }, usage = "general" } } } },
    { body = { prompt = "like that one", referenceBlobs = { { source = { url = M.S3 } } } } },
  },
  upscale_image = {
    { body = { image = src(), seeds = { 1, 2 }, upscaleFactor = 4 },
      opts = { model_version = "precise_upsampler_v1" } },
    { body = { image = url_src(), seeds = { 3 } } },
  },
  precise_composite = {
    { body = { background = { image = src(), fillAreaMask = src(M.MASK) }, object = { image = src() },
      numVariations = 2, seeds = { 1, 2 }, blend = 0.5, output = { mediaType = "image/png" } } },
    { body = { background = { image = url_src(), fillAreaMask = url_src() }, object = { image = url_src() } } },
  },
  adaptive_composite = {
    { body = { background = { image = src(), fillAreaMask = src(M.MASK) },
      object = { image = src(), mask = src(M.MASK) },
      numVariations = 3, seeds = { 1, 2, 3 }, harmonization = 0.6, shadowIntensity = 1, preserveBackground = true,
      output = { mediaType = "image/webp" } } },
    { body = { background = { image = url_src(), fillAreaMask = url_src() }, object = { image = url_src() } } },
  },
  -- The deprecated sync paths, judged against the npm document that has them.
  generate_images_sync = {
    { body = { prompt = "a lighthouse", numVariations = 2, seeds = { 1, 2 }, size = { width = 2048, height = 2048 },
      negativePrompt = "people", contentClass = "art", visualIntensity = 4, promptBiasingLocaleCode = "en-US",
      style = { presets = { "bw" }, strength = 50, imageReference = src() }, tileable = true } },
  },
  generate_similar_images_sync = {
    { body = { image = src(), numVariations = 1, seeds = { 3 }, size = { width = 1024, height = 1024 },
      tileable = false } },
    { body = { image = url_src() } },
  },
  expand_image_sync = {
    { body = { image = { source = { uploadId = M.UPLOAD } }, prompt = "pine trees", numVariations = 1, seeds = { 2 },
      size = { width = 2500, height = 2500 }, placement = { alignment = { horizontal = "left", vertical = "top" } } } },
    { body = { image = { source = { url = M.S3 }, mask = { uploadId = M.MASK } } } },
  },
  fill_image_sync = {
    { body = { image = { source = { uploadId = M.UPLOAD }, mask = { uploadId = M.MASK } }, prompt = "a kite",
      negativePrompt = "text", numVariations = 1, seeds = { 9 }, promptBiasingLocaleCode = "en-US" } },
    { body = { image = { source = { url = M.S3 }, mask = { url = M.S3 } } } },
  },
  generate_object_composite_sync = {
    { body = { image = { source = { uploadId = M.UPLOAD } }, prompt = "on a desk", contentClass = "photo",
      numVariations = 1, seeds = { 4 }, size = { width = 2048, height = 2048 },
      placement = { inset = { left = 1, top = 1, right = 1, bottom = 1 } }, style = { presets = { "watercolor" } } } },
    { body = { image = { source = { uploadId = M.UPLOAD }, mask = { uploadId = M.MASK } }, prompt = "on a desk" } },
  },
  generate_video = {
    { body = { prompt = "waves", bitRateFactor = 18, seeds = { 5 }, sizes = { { width = 1920, height = 1080 } },
      videoSettings = { cameraMotion = "camera pan left", promptStyle = "cinematic",
        shotAngle = "aerial shot", shotSize = "close-up shot" },
      image = { conditions = { { source = { uploadId = M.UPLOAD }, placement = { position = 0 } } } } },
      opts = { model_version = "video1_standard" } },
    { body = { prompt = "tide",
      image = { conditions = { { source = { url = M.S3 }, placement = { position = 1 } } } } } },
  },
}

---------------------------------------------------------------------------------------------
-- JSON text
---------------------------------------------------------------------------------------------

local function marked(v)
  if v == EMPTY then return MARK end
  if type(v) ~= "table" or v == NULL then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = marked(x) end
  return out
end

function M.encode(v)
  return (cjson.encode(marked(v)):gsub('"' .. MARK:gsub("%p", "%%%0") .. '"', "[]"))
end

---------------------------------------------------------------------------------------------
-- Walking the schema
---------------------------------------------------------------------------------------------

local function resolve(doc, ref)
  local node = doc
  for part in ref:sub(3):gmatch("[^/]+") do node = node[(part:gsub("~1", "/"):gsub("~0", "~"))] end
  return node
end

-- The schema a value must meet, with $ref and single-branch allOf followed and the
-- keywords of each level merged (a property's own default beside its allOf).
local function flat(doc, node)
  local out, guard = {}, 0
  local function merge(n)
    guard = guard + 1
    assert(guard < 50, "schema too deep")
    if n["$ref"] then merge(resolve(doc, n["$ref"])) end
    for _, sub in ipairs(n.allOf or {}) do merge(sub) end
    for k, v in pairs(n) do
      if k ~= "$ref" and k ~= "allOf" and out[k] == nil then out[k] = v end
    end
  end
  merge(node)
  return out
end

local function copy(v)
  if type(v) ~= "table" or v == NULL or v == EMPTY then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

-- base with the value at `path` (a list of keys) replaced; nil removes it.
local function with(base, path, value)
  local out = copy(base)
  local node = out
  for i = 1, #path - 1 do node = node[path[i]] end
  node[path[#path]] = value
  return out
end

local function dotted(path)
  local parts = {}
  for i, k in ipairs(path) do parts[i] = type(k) == "number" and tostring(k - 1) or k end
  return #parts == 0 and "body" or "body." .. table.concat(parts, ".")
end

local function type_of(node)
  local t = node.type
  if type(t) == "table" then t = t[1] end
  if t == nil and node.properties then t = "object" end
  if t == nil and node.enum then t = type(node.enum[1]) == "number" and "integer" or "string" end
  return t
end

-- A value the schema accepts, as small as it can be.
local function sample(doc, node, depth)
  node = flat(doc, node)
  depth = (depth or 0) + 1
  if node.enum then return node.enum[1] end
  local t = type_of(node)
  if t == "string" then
    if node.format == "uuid4" or node.format == "uuid" then return M.UPLOAD end
    if node.format == "uri" then return M.S3 end
    return ("s"):rep(math.max(node.minLength or 1, 1))
  elseif t == "integer" or t == "number" then
    local lo = node.minimum or (node.exclusiveMinimum and node.exclusiveMinimum + 1) or 1
    if node.maximum and lo > node.maximum then lo = node.maximum end
    return lo
  elseif t == "boolean" then
    return true
  elseif t == "array" then
    local items = {}
    for i = 1, math.max(node.minItems or 1, 1) do items[i] = sample(doc, node.items or {}, depth) end
    if node.uniqueItems and type(items[1]) == "number" then
      for i = 1, #items do items[i] = i end
    end
    return items
  elseif t == "object" and depth < 8 then
    local out = {}
    for _, name in ipairs(node.required or {}) do out[name] = sample(doc, node.properties[name], depth) end
    -- A source names exactly one input (a rule of Adobe's prose, validate.lua).
    if next(out) == nil and node.properties and node.properties.uploadId then out.uploadId = M.UPLOAD end
    return out
  end
  return "s"
end

local WRONG = {
  { "a string", "x", "string" }, { "an integer", 42, "integer" }, { "a fraction", 2.5, "number" },
  { "a boolean", true, "boolean" }, { "an object", { zz = 1 }, "object" }, { "a list", { "x" }, "array" },
}

local function accepts_type(node, kind)
  local t = node.type
  local list = type(t) == "table" and t or { t }
  for _, one in ipairs(list) do
    if one == kind or (one == "number" and kind == "integer") then return true end
  end
  return false
end

-- Every edge of `node` at `path` in `base`, through emit(body, what).
local function walk(doc, node, base, path, emit, depth)
  if depth > 10 then return end
  node = flat(doc, node)
  local here = dotted(path)
  local value = base
  for _, k in ipairs(path) do value = value[k] end
  local function put(v, what) emit(#path == 0 and v or with(base, path, v), here .. " " .. what) end
  local t = type_of(node)

  if #path > 0 then
    put(NULL, "null")
    for _, w in ipairs(WRONG) do
      if t and not accepts_type(node, w[3]) then put(w[2], w[1]) end
    end
  end
  if node.enum then
    for _, v in ipairs(node.enum) do put(v, "= " .. tostring(v)) end
    if type(node.enum[1]) == "string" then
      put("nope", "not a member")
      put(node.enum[1]:upper() ~= node.enum[1] and node.enum[1]:upper() or node.enum[1] .. " ", "another case")
    else
      put(node.enum[#node.enum] + 1, "one past the last member")
    end
  end

  if t == "string" and not node.enum then
    local lo, hi = node.minLength, node.maxLength
    if lo and lo > 0 then put(("a"):rep(lo - 1), "one under minLength"); put(("a"):rep(lo), "at minLength") end
    if not lo then put("", "empty") end
    if hi then
      put(("a"):rep(hi), "at maxLength"); put(("a"):rep(hi + 1), "one past maxLength")
      put(("é"):rep(hi), "at maxLength in two-byte characters")
      put(("😀"):rep(hi + 1), "one past maxLength in four-byte characters")
    end
    if node.format == "uri" then
      for _, u in ipairs { "in.jpg", "https://", "https://exa mple.com/x", "ftp://x.s3.amazonaws.com/a",
        "https://bucket.s3.amazonaws.com/" .. ("p"):rep(2100) } do
        put(u, "= " .. u:sub(1, 40))
      end
    elseif node.format == "uuid4" or node.format == "uuid" then
      for _, u in ipairs { "not-a-uuid", "510aabb4-e154-1a7b-bd2e-f492ee71c938", "510aabb4-e154-4a7b-0d2e-f492ee71c938",
        "510aabb4e1544a7bbd2ef492ee71c938", "{510aabb4-e154-4a7b-bd2e-f492ee71c938}",
        "urn:uuid:510aabb4-e154-4a7b-bd2e-f492ee71c938", "510AABB4-E154-4A7B-BD2E-F492EE71C938" } do
        put(u, "= " .. u)
      end
    end
  elseif (t == "integer" or t == "number") and not node.enum then
    local step = t == "integer" and 1 or 0.01
    if node.minimum then put(node.minimum, "at minimum"); put(node.minimum - step, "under minimum") end
    if node.maximum then put(node.maximum, "at maximum"); put(node.maximum + step, "over maximum") end
    if node.exclusiveMinimum then
      put(node.exclusiveMinimum, "at exclusiveMinimum"); put(node.exclusiveMinimum + step, "just over exclusiveMinimum")
    end
    if not (node.minimum or node.exclusiveMinimum) then put(-1, "negative"); put(0, "zero") end
    if t == "integer" then put(2.0, "2.0"); put(2^31, "2^31") end
  elseif t == "array" then
    local lo, hi = node.minItems, node.maxItems
    local item = (type(value) == "table" and value[1] ~= nil) and value[1] or sample(doc, node.items or {})
    local function list(n, distinct)
      if n == 0 then return EMPTY end
      local out = {}
      for i = 1, n do out[i] = (distinct and type(item) == "number") and (item + i - 1) or copy(item) end
      return out
    end
    put(EMPTY, "empty list")
    if lo and lo > 1 then put(list(lo - 1, true), "one under minItems") end
    if lo then put(list(lo, true), "at minItems") end
    if hi then put(list(hi, true), "at maxItems"); put(list(hi + 1, true), "one past maxItems") end
    put(list(2, false), "with a duplicate")
    if type(value) == "table" and value[1] ~= nil and node.items then
      walk(doc, node.items, base, (function() local p = copy(path); p[#p + 1] = 1; return p end)(), emit, depth + 1)
    end
  elseif t == "object" and type(value) == "table" then
    put(with(value, { "zzUnknownField" }, 1), "with an unknown field")
    if #path > 0 then put({}, "empty object") end
    local required = {}
    for _, name in ipairs(node.required or {}) do required[name] = true end
    local names = {}
    for name in pairs(node.properties or {}) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      local child = copy(path)
      child[#child + 1] = name
      local b = base
      if value[name] == nil then
        -- In a source (uploadId or url), a kind added replaces the one there, so
        -- the "exactly one" rule does not hide what the new kind's edges show.
        local swap = node.properties.uploadId and node.properties.url and (name == "uploadId" or name == "url")
        b = with(base, child, sample(doc, node.properties[name]))
        if swap then
          local other = copy(path)
          other[#other + 1] = name == "url" and "uploadId" or "url"
          b = with(b, other, nil)
        end
        emit(b, dotted(child) .. " added")
      else
        emit(with(base, child, nil), dotted(child) .. (required[name] and " (required) removed" or " removed"))
      end
      walk(doc, node.properties[name], b, child, emit, depth + 1)
    end
  end
end

---------------------------------------------------------------------------------------------
-- Public
---------------------------------------------------------------------------------------------

-- Every case for operation `op` whose request schema is `node` in `doc`, and the
-- x-model-version values its path declares.
function M.cases(op, doc, node, model_versions)
  local out, seen = {}, {}
  local function emit(body, what, opts)
    local json = M.encode(body)
    local key = json .. "\0" .. tostring(opts and opts.model_version)
    if seen[key] then return end
    seen[key] = true
    out[#out + 1] = { op = op, opts = opts, json = json, what = what }
  end
  for i, base in ipairs(M.BASES[op] or {}) do
    emit(base.body, ("base %d"):format(i), base.opts)
    walk(doc, node, base.body, {}, function(body, what) emit(body, ("base %d: %s"):format(i, what), base.opts) end, 0)
  end
  -- The header on the first base: each version the path declares, and two it does not.
  local first = (M.BASES[op] or {})[1]
  if first then
    for _, v in ipairs(model_versions or {}) do emit(first.body, "x-model-version " .. v, { model_version = v }) end
    for _, v in ipairs { "nope", (model_versions or {})[1] and model_versions[1]:upper() or "IMAGE3" } do
      emit(first.body, "x-model-version " .. v, { model_version = v })
    end
  end
  return out
end

return M
