-- Request validation, shared by the client (before any network call) and the emulator
-- (to answer 422 like Adobe).
--
-- The body is checked against the operation's request schema in Adobe's OpenAPI file
-- (firefly/schema.lua interprets it), then against the few rules Adobe states only in
-- prose; each of those is a small function below naming the API-NOTES section it comes
-- from. Errors are pydantic-v1 shaped, as in Adobe's `validation_errors`.

local nearest = require "firefly.nearest"
local openapi = require "firefly.openapi"
local operations = require "firefly.operations"
local schema = require "firefly.schema"

local unpack = table.unpack or unpack

local validate = {
  -- Extra image-URL hosts to accept besides Adobe's allow-list, e.g. "127.0.0.1" or
  -- "*.example.test"; the emulator and tests add theirs. Plain http is fine for them.
  allow_hosts = {},
}

-- Hosts a source `url` may name (API-NOTES §3.1, async specs): pre-signed storage URLs.
local adobe_hosts = { "amazonaws.com", "windows.net", "dropboxusercontent.com", "storage.googleapis.com" }

-- [DOC26 usage-notes] more storage hosts, per operation: frame.io and adobe.io for the
-- composites, Adobe's own front door for Image 5.
local more_hosts = {
  precise_composite = { "assets.frame.io", "adobe.io" },
  adaptive_composite = { "assets.frame.io", "adobe.io" },
  generate_images_v5 = { "frontdoor.prod.azure.cxp.adobe.com" },
}

local function hosts_for(op)
  local extra = more_hosts[op.name]
  if not extra then return adobe_hosts end
  local list = { unpack(adobe_hosts) }
  for _, h in ipairs(extra) do list[#list + 1] = h end
  return list
end

local resolved = {}

-- Reads what an operation needs from its document once: the request schema, the
-- x-model-version enum (nil when the path declares none) and its default.
local function operation(name)
  if resolved[name] then return resolved[name] end
  local entry = operations.get(name)
  if not entry or entry.body ~= "json" then error("unknown operation '" .. tostring(name) .. "'", 3) end
  local doc = openapi[entry.document]
  local post = doc.paths[entry.path][entry.http:lower()]
  local body = post.requestBody.content["application/json"].schema
  local op = {
    name = name, entry = entry, document = doc, document_name = entry.document, method = entry.http,
    path = entry.path, body = body, schema_name = body["$ref"] and body["$ref"]:match("[^/]+$"),
  }
  for _, p in ipairs(post.parameters or {}) do
    if p["in"] == "header" and p.name:lower() == "x-model-version" then
      op.model_versions = p.schema.enum
      op.default_model_version = p.schema.default
      op.model_version_required = p.required == true -- Image 5, video: the emulator's 422 without it
    end
  end
  op.request = body["$ref"] and schema.resolve(doc, body["$ref"]) or body
  resolved[name] = op
  return op
end

local function present(v)
  return v ~= nil and not schema.is_null(v)
end

local function add(errors, err)
  errors[#errors + 1] = err
end

-- A rule stays silent where the schema already complained about the same value (or
-- something inside it), so one mistake is reported once.
local function has_error_at(errors, loc)
  for _, e in ipairs(errors) do
    local same = #e.loc >= #loc
    for i = 1, #loc do
      if not same then break end
      same = e.loc[i] == loc[i]
    end
    if same then return true end
  end
  return false
end

local function loc_with(loc, ...)
  local out = { unpack(loc) }
  for i = 1, select("#", ...) do out[#out + 1] = select(i, ...) end
  return out
end

---------------------------------------------------------------------------------------------
-- The header
---------------------------------------------------------------------------------------------

-- x-model-version exists only where a path declares it (API-NOTES §1.3): generate,
-- generate-similar and video. Elsewhere Adobe has no such header, so sending one is a bug.
local function check_model_version(op, version, errors)
  if version == nil then return end
  local loc = { "header", "x-model-version" }
  local refused = op.entry.refused_model_versions and op.entry.refused_model_versions[version]
  if refused then
    return add(errors, schema.error(loc, refused, "value_error.model_version.refused"))
  end
  if not op.model_versions then
    return add(errors, schema.error(loc, "this operation takes no model version", "value_error.extra"))
  end
  if type(version) ~= "string" then
    local e = schema.type_errors.string
    return add(errors, schema.error(loc, e[1], e[2]))
  end
  for _, v in ipairs(op.model_versions) do
    if v == version then return end
  end
  local e = schema.enum_error(loc, op.model_versions)
  -- The same method reaches other paths with other versions (Image 5 lives under /v4): name
  -- them, or the message tells a user that a version the client takes is not permitted.
  for _, other in ipairs(operations.list) do
    if other ~= op.entry and other.method == op.entry.method and other.selects_on then
      for _, v in ipairs(other.selects_on) do
        e.msg = ("%s; '%s' is served at %s"):format(e.msg, v, other.path)
      end
    end
  end
  add(errors, e)
end

---------------------------------------------------------------------------------------------
-- Rules Adobe states in prose. Each takes (op, body, opts, visits, errors).
---------------------------------------------------------------------------------------------

-- API-NOTES §3.1 Seeds/variations [SPEC]: "the number of seeds provided must equal
-- numVariations". Only judged when both are well-formed, so no error is reported twice.
local function seeds_match_variations(_op, body, _opts, _visits, errors)
  local seeds, n = body.seeds, body.numVariations
  if not (schema.is_array(seeds) and schema.is_integer(n)) or #seeds == n then return end
  add(errors, schema.error({ "body", "seeds" },
    ("the number of seeds (%d) must equal numVariations (%d)"):format(#seeds, n),
    "value_error.seeds.count", { numVariations = n, seeds = #seeds }))
end

-- API-NOTES §1.3 and §3.2 [SPEC, DOC concepts/custom-models]: the *_custom model versions
-- generate from a custom model, named by customModelId.
local custom_versions = { image3_custom = true, image4_custom = true }

local function custom_model_id(_op, body, opts, _visits, errors)
  local version = opts.model_version
  if not custom_versions[version] or present(body.customModelId) then return end
  add(errors, schema.error({ "body", "customModelId" },
    "field required when x-model-version is " .. version, "value_error.missing"))
end

-- API-NOTES §3.1 style [DOC concepts/style-presets]: preset ids are a closed list,
-- kept in style_presets.json, that the schema leaves as plain strings.
local preset_list, preset_set

local function style_presets(_op, _body, _opts, visits, errors)
  for _, visit in ipairs(visits) do
    local presets = visit.name == "StylesV3" and schema.is_object(visit.value) and visit.value.presets
    if presets and schema.is_array(presets)
       and not has_error_at(errors, loc_with(visit.loc, "presets")) then
      if not preset_set then
        preset_list, preset_set = openapi.style_presets.presets, {}
        for _, id in ipairs(preset_list) do preset_set[id] = true end
      end
      for i, id in ipairs(presets) do
        if type(id) == "string" and not preset_set[id] then
          add(errors, schema.enum_error(loc_with(visit.loc, "presets", i - 1), preset_list))
        end
      end
    end
  end
end

-- "127.0.0.1" matches itself and its subdomains; "*" in a pattern matches anything.
local function host_matches(host, pattern)
  if pattern:find("*", 1, true) then
    local lua = "^" .. pattern:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*") .. "$"
    return host:match(lua) ~= nil
  end
  return host == pattern or host:sub(-#pattern - 1) == "." .. pattern
end

local function host_in(host, list)
  for _, pattern in ipairs(list or {}) do
    if host_matches(host, pattern:lower()) then return true end
  end
  return false
end

-- scheme and host (no userinfo, no port; brackets kept off an IPv6 literal).
local function split_url(url)
  local scheme, authority = url:match("^(%a[%w+.-]*)://([^/?#]*)")
  if not scheme then return nil end
  authority = authority:gsub("^.*@", "")
  local host = authority:match("^%[([^%]]*)%]") or authority:gsub(":%d*$", "")
  if host == "" then return nil end
  return scheme:lower(), host:lower()
end

-- API-NOTES §3.1 Image source [SPEC, DOC concepts/image-upload]: a source names exactly
-- one input, and a URL must be an https pre-signed URL on Adobe's allow-listed storage
-- hosts. Extra hosts (the emulator, tests) may also use plain http.
local function check_source_url(op, url, loc, opts, errors)
  local url_loc = loc_with(loc, "url")
  if has_error_at(errors, url_loc) then return end -- the schema said why
  -- A URI with no host ("https://", "mailto:x") names no storage host at all.
  local scheme, host = split_url(url)
  scheme = scheme or (url:match("^(%a[%w+.-]*):") or ""):lower() -- "" for no scheme at all
  if host and (host_in(host, validate.allow_hosts) or host_in(host, opts.allow_hosts)) then
    if scheme == "https" or scheme == "http" then return end
  elseif scheme == "https" then
    local allowed = hosts_for(op)
    if host and host_in(host, allowed) then return end
    return add(errors, schema.error(url_loc, "URL host not permitted; allowed: "
      .. table.concat(allowed, ", "), "value_error.url.host", { allowed_hosts = allowed }))
  end
  add(errors, schema.error(url_loc, "URL scheme not permitted", "value_error.url.scheme",
    { allowed_schemes = { "https" } }))
end

local source_kinds = { "uploadId", "url", "creativeCloudFileId" }

-- The 2026 document's image sources besides PublicBinaryInput*: the composites'
-- ImageSource and Image 5's ReferenceBlobSourceV3, one input each as well.
local source_schemas = { ImageSource = true, ReferenceBlobSourceV3 = true }

-- Whether a component's name is an image source's, by name (asked for every visit of every body).
local is_source = setmetatable({}, { __index = function(t, name)
  local yes = source_schemas[name] or name:match("^PublicBinaryInput") ~= nil
  t[name] = yes
  return yes
end })

local function image_sources(op, _body, opts, visits, errors)
  for _, visit in ipairs(visits) do
    local source = visit.value
    if is_source[visit.name] and schema.is_object(source) then
      -- Only the kinds this spec declares count (creativeCloudFileId is video's alone).
      local declared = schema.resolve(op.document, "#/components/schemas/" .. visit.name).properties or {}
      local given, names = 0, {}
      for _, kind in ipairs(source_kinds) do
        if declared[kind] then
          names[#names + 1] = kind
          if present(source[kind]) then given = given + 1 end
        end
      end
      if given ~= 1 then
        add(errors, schema.error(visit.loc, "exactly one of " .. table.concat(names, ", ")
          .. " is required", "value_error.source", { given = given }))
      elseif type(source.url) == "string" then
        check_source_url(op, source.url, visit.loc, opts, errors)
      end
    end
  end
end

-- API-NOTES §3.1 placement [SPEC, the Placement schema]: placement cannot be used with a
-- mask image. Applies where a request has both (expand, object composite); the deprecated
-- image.mask counts as a mask too.
local function placement_and_mask(op, body, _opts, _visits, errors)
  local props = op.request.properties or {}
  if not (props.placement and props.mask) or not present(body.placement) then return end
  local image = body.image
  if present(body.mask) or (schema.is_object(image) and present(image.mask)) then
    add(errors, schema.error({ "body", "placement" }, "placement cannot be used together with a mask",
      "value_error.placement.with_mask"))
  end
end

-- API-NOTES §10.3 [DOC26 guides/how-tos/cm-generate-image]: Image 5 with reference blobs
-- takes aspectRatio "auto" or none.
local function reference_blobs_aspect(op, body, _opts, _visits, errors)
  local props = op.request.properties or {}
  if not (props.referenceBlobs and props.aspectRatio) then return end
  local blobs, ratio = body.referenceBlobs, body.aspectRatio
  if not (schema.is_array(blobs) and #blobs > 0) or not present(ratio) or ratio == "auto" then return end
  if has_error_at(errors, { "body", "aspectRatio" }) then return end
  add(errors, schema.error({ "body", "aspectRatio" },
    "with referenceBlobs, aspectRatio must be 'auto' or left out", "value_error.aspect_ratio.with_reference_blobs",
    { given = ratio }))
end

local rules = { seeds_match_variations, custom_model_id, style_presets, image_sources, placement_and_mask,
                reference_blobs_aspect }

---------------------------------------------------------------------------------------------
-- Public
---------------------------------------------------------------------------------------------

-- The properties a named schema declares (its own and its allOf parts'); nil when it
-- declares none or takes any key (additionalProperties).
local declared_in = setmetatable({}, { __mode = "k" }) -- doc -> { name -> props or false }

local function collect_declared(doc, name)
  local node = schema.resolve(doc, "#/components/schemas/" .. name)
  local props, any = {}, false
  local function collect(n)
    if n["$ref"] then n = schema.resolve(doc, n["$ref"]) end
    for k in pairs(n.properties or {}) do props[k] = true; any = true end
    if n.additionalProperties ~= nil and n.additionalProperties ~= false then props = nil end
    for _, part in ipairs(n.allOf or {}) do if props then collect(part) end end
  end
  collect(node)
  return props and any and props or nil
end

-- The same, worked out once per document and name (documents do not change; callers only read it).
local function declared(doc, name)
  local known = declared_in[doc]
  if not known then
    known = {}
    declared_in[doc] = known
  end
  local props = known[name]
  if props == nil then
    props = collect_declared(doc, name) or false
    known[name] = props
  end
  return props or nil
end

-- Whether visits[i]'s value was an earlier visit's too: two components may name one value.
-- A scan of the few before it, or past sixteen a set of every earlier visit's table
-- (`seen`; seen[0] counts the visits it holds), grown as the walk goes. Returns the
-- answer and the set.
local function visited_before(visits, i, seen)
  local value = visits[i].value
  if i <= 16 then
    for j = 1, i - 1 do
      if visits[j].value == value then return true, seen end
    end
    return false, seen
  end
  seen = seen or { [0] = 0 }
  for j = seen[0] + 1, i - 1 do
    local v = visits[j].value
    if type(v) == "table" then seen[v] = true end
  end
  seen[0] = i - 1
  return seen[value] == true, seen
end

-- Fields the schema does not know, which the service may ignore (a typo would be lost silently):
-- warnings, each naming the closest known field when one is near. One walk over an object's
-- keys both proves it one (string keys only) and finds the unknown ones.
local function unknown_fields(op, visits)
  local warnings, seen = nil, nil
  for i, visit in ipairs(visits) do
    local value = visit.value
    local known = type(value) == "table" and declared(op.document, visit.name)
    if known then
      -- Only the unknown names are sorted (usually none): the same order, without sorting every body.
      local names, object = nil, true
      for k in pairs(value) do
        if type(k) ~= "string" then
          object = false
          break
        end
        if not known[k] then
          names = names or {}
          names[#names + 1] = k
        end
      end
      local again = false
      if object and names then again, seen = visited_before(visits, i, seen) end -- each object once
      if object and names and not again then
        if #names > 1 then table.sort(names) end
        for _, k in ipairs(names) do
          local near = nearest.find(k, known)
          warnings = warnings or {}
          add(warnings, schema.error(loc_with(visit.loc, k),
            "unknown field, not in Adobe's document" .. (near and ("; did you mean '" .. near .. "'?") or ""),
            "value_error.extra.unknown", { suggestion = near }))
        end
      end
    end
  end
  return warnings -- made at the first (nil: a body without unknown fields makes none)
end

-- Checks a request for operation `op` (a registry name, firefly.operations).
-- `opts.model_version` is the x-model-version header; `opts.allow_hosts` adds URL
-- hosts for this call. Returns the errors (nil when valid: header first, then the body
-- in the schema's order, then the prose rules, as FastAPI orders them) and the
-- warnings (unknown fields), both pydantic-shaped.
local BODY = { "body" } -- read only: schema.accepts and schema.validate copy it

local NO_OPTS = {}

-- review's work; its warnings are nil when there are none (Client:_judge, once per call,
-- makes no table for them).
local function review(op_name, body, opts)
  local op = operation(op_name)
  opts = opts or NO_OPTS
  local errors, warnings = {}, nil
  check_model_version(op, opts.model_version, errors)
  if body == nil or schema.is_null(body) then
    add(errors, schema.error({ "body" }, "field required", "value_error.missing"))
  else
    -- The compiled check answers for a valid body; only a refused one is walked again to
    -- say why (the interpreter's errors, and its visits for the rules).
    local visits = schema.accepts(op.document, op.body, body, BODY)
    -- A body the compiled check accepted against a request of type object is one (its
    -- keys were all walked as strings there): no second walk to say so.
    local object = visits and op.request.type == "object"
    if not visits then
      local errs
      errs, visits = schema.validate(op.document, op.body, body, BODY)
      for _, e in ipairs(errs) do add(errors, e) end
    end
    if object or schema.is_object(body) then
      for _, rule in ipairs(rules) do rule(op, body, opts, visits, errors) end
      warnings = unknown_fields(op, visits)
    end
  end
  return #errors > 0 and errors or nil, warnings
end
validate._review = review

function validate.review(op_name, body, opts)
  local errors, warnings = review(op_name, body, opts)
  return errors, warnings or {}
end

-- The errors alone (nil when valid): what the emulator answers 422 with.
function validate.request(op_name, body, opts)
  return (review(op_name, body, opts))
end

-- What an operation is on the wire: `path`, `method`, `schema_name`, `model_versions`
-- (nil when it takes none), `default_model_version`, `document`.
function validate.operation(op_name)
  return operation(op_name)
end

-- The operation with a JSON body served at `method` `path` (firefly.operations).
function validate.operation_for(method, path)
  local entry = operations.find(method, path)
  return entry and entry.body == "json" and entry.name or nil
end

-- Every operation the client validates a JSON body for (not the deprecated sync ones), sorted.
function validate.operations()
  local names = {}
  for _, entry in ipairs(operations.list) do
    if entry.body == "json" and not entry.deprecated then names[#names + 1] = entry.name end
  end
  table.sort(names)
  return names
end

local max_enum_shown = 8

-- "body.numVariations: ensure this value is less than or equal to 4": the loc joined with
-- dots as Adobe's reads, and a long permitted list (152 style presets) cut short.
function validate.describe(err)
  local parts = {}
  for i, key in ipairs(err.loc or {}) do parts[i] = tostring(key) end
  local msg = err.msg or err.type or "invalid"
  local values = err.ctx and err.ctx.enum_values
  if values and #values > max_enum_shown then
    local shown = {}
    for i = 1, max_enum_shown do shown[i] = schema.repr(values[i]) end
    msg = ("value is not a valid enumeration member; permitted: %s, ... (%d values)")
      :format(table.concat(shown, ", "), #values)
  end
  if #parts == 0 then return msg end
  return table.concat(parts, ".") .. ": " .. msg
end

-- The first few errors as one line, for an error's message.
function validate.message(errors, limit)
  limit = limit or 3
  local lines = {}
  for i = 1, math.min(#errors, limit) do lines[i] = validate.describe(errors[i]) end
  local text = table.concat(lines, "; ")
  if #errors > limit then text = text .. (" (and %d more)"):format(#errors - limit) end
  return text
end

return validate
