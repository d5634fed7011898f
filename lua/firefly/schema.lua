-- A small JSON-Schema (OpenAPI 3.1 subset) interpreter over Adobe's documents.
--
-- Adobe's Firefly backend is FastAPI on pydantic v1, so a 422 lists errors shaped
-- `{loc = {"body","seeds",0}, msg = ..., type = ..., ctx = ...}` with pydantic's exact
-- wording. This file reproduces that wording for the keywords Adobe's schemas use, so the
-- client refuses a bad body with the words the service would have used, and the emulator
-- answers with the same body Adobe sends. It knows nothing of Firefly: the rules that are
-- not in the schemas live in firefly/validate.lua.
--
-- Values are either cjson-decoded JSON (the emulator; `cjson.null` is JSON null) or plain
-- Lua tables written by users (the client). Lua 5.1 syntax only: this runs on 5.4 and LuaJIT.

-- No traces of this file on LuaJIT. Debian's LuaJIT 2.1 (2.1.0~beta3+git20220320, the one
-- LÖVE 11.4 links there too) compiles a trace of these checks, in GC64 mode, that reads the
-- Lua stack through a pointer cut to 32 bits: the process dies of SIGSEGV, seen once in about
-- ten runs of validation_oracle_spec and within one to nine rounds of its 7,500 bodies in a
-- loop. The checks branch on every schema node, so the JIT started some 2,200 traces a round
-- here and gained little; interpreted, a body's check is a few microseconds.
if rawget(_G, "jit") then jit.off(true, true) end

local cjson = require "firefly.json"

local null = cjson.null
local huge = math.huge
local floor = math.floor
-- Upvalues, not globals: the compiled checks below call these for every field of every body.
local type, pairs, getmetatable = type, pairs, getmetatable

local schema = { null = null }

---------------------------------------------------------------------------------------------
-- Lua values seen as JSON values
---------------------------------------------------------------------------------------------

local function is_null(v)
  return v == null
end

-- JSON's idea of an integer: 2.0 counts, as in JSON text; no math.type, so LuaJIT agrees.
-- v % 1 is 0 for a whole number alone: NaN and both infinities give NaN (no floor call,
-- which every integer field of every body made).
local function is_integer(v)
  return type(v) == "number" and v % 1 == 0
end

local function is_number(v)
  return type(v) == "number" and v == v and v ~= huge and v ~= -huge
end

-- An array has keys exactly 1..n; an empty table may be an array or an object, since
-- cjson decodes both `[]` and `{}` to one.
local function is_array(v)
  if type(v) ~= "table" then return false end
  local n, max = 0, 0
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or floor(k) ~= k then return false end
    n = n + 1
    if k > max then max = k end
  end
  return n == max
end

local function is_object(v)
  if type(v) ~= "table" then return false end
  for k in pairs(v) do
    if type(k) ~= "string" then return false end
  end
  return true
end

-- pydantic counts code points, so a UTF-8 string counts every byte that does not
-- continue a sequence (0x80..0xBF).
local function utf8_len(s)
  if not s:find("[\128-\255]") then return #s end -- ASCII (most prompts): one byte a character
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

---------------------------------------------------------------------------------------------
-- pydantic v1 error values
---------------------------------------------------------------------------------------------

-- Python's repr of a limit: integers without a fraction, other numbers in their
-- shortest round-tripping form, strings in single quotes.
local function repr(v)
  if type(v) == "number" then
    if is_integer(v) and v > -2^53 and v < 2^53 then return ("%d"):format(v) end
    for digits = 1, 17 do
      local s = ("%." .. digits .. "g"):format(v)
      if tonumber(s) == v then return s end
    end
  elseif type(v) == "string" then
    return "'" .. v .. "'"
  elseif v == null then
    return "None"
  end
  return tostring(v)
end

local function copy_loc(loc, key)
  local out = {}
  for i = 1, #loc do out[i] = loc[i] end
  if key ~= nil then out[#out + 1] = key end
  return out
end

local function make_error(loc, msg, kind, ctx)
  return { loc = copy_loc(loc), msg = msg, type = kind, ctx = ctx }
end

-- ctx gets its own copy of the list, so an error handed to a user cannot edit the spec.
local function enum_error(loc, values)
  local shown, copy = {}, {}
  for i = 1, #values do shown[i], copy[i] = repr(values[i]), values[i] end
  return make_error(loc,
    "value is not a valid enumeration member; permitted: " .. table.concat(shown, ", "),
    "type_error.enum", { enum_values = copy })
end

-- The message and type pydantic v1 gives a value of the wrong JSON type.
local type_errors = {
  object  = { "value is not a valid dict", "type_error.dict" },
  array   = { "value is not a valid list", "type_error.list" },
  string  = { "str type expected", "type_error.str" },
  integer = { "value is not a valid integer", "type_error.integer" },
  number  = { "value is not a valid float", "type_error.float" },
  boolean = { "value could not be parsed to a boolean", "type_error.bool" },
}

local type_tests = {
  object = is_object, array = is_array, integer = is_integer, number = is_number,
  string = function(v) return type(v) == "string" end,
  boolean = function(v) return type(v) == "boolean" end,
  null = is_null,
}

---------------------------------------------------------------------------------------------
-- The interpreter
---------------------------------------------------------------------------------------------

-- Follows a local JSON pointer such as "#/components/schemas/Size"; remote refs never
-- occur in Adobe's files, so one is a bug in the data and raises.
-- Documents are read-only once loaded, so each pointer is followed once per document: a
-- request checks dozens of refs, and walking one costs a gmatch and two gsubs a segment.
local followed = setmetatable({}, { __mode = "k" }) -- doc -> { ref -> node }

local function resolve(doc, ref)
  local known = followed[doc]
  local hit = known and known[ref]
  if hit ~= nil then return hit end
  if type(ref) ~= "string" or ref:sub(1, 2) ~= "#/" then
    error("unsupported $ref " .. tostring(ref), 2)
  end
  local node = doc
  for part in ref:sub(3):gmatch("[^/]+") do
    part = part:gsub("~1", "/"):gsub("~0", "~")
    node = type(node) == "table" and node[part] or nil
    if node == nil then error("unresolved $ref " .. ref, 2) end
  end
  if type(doc) == "table" then
    known = known or {}
    followed[doc] = known
    known[ref] = node
  end
  return node
end

-- A ref's last segment, the component's name ("#/components/schemas/Size" -> "Size").
local ref_names = {}
local function ref_name(ref)
  local name = ref_names[ref]
  if not name then
    name = ref:match("^.*/([^/]+)$") or ref:match("[^/]+$")
    ref_names[ref] = name
  end
  return name
end

-- RFC 3986's URI grammar (the JSON Schema "uri" format): a scheme, then a hierarchical
-- part, query and fragment made only of the characters each may hold. Returns true, or
-- false and what is wrong ("scheme" when there is none).
local PCHAR = "[%w%-%._~!%$&'%(%)%*%+,;=:@]"

local function only(s, class) -- every character in `class`, or a %XX escape
  return (s:gsub("%%%x%x", ""):gsub(class, "")) == ""
end

local function authority_syntax(a)
  local userinfo, hostport = a:match("^([^@]*)@(.*)$")
  if userinfo and not only(userinfo, "[%w%-%._~!%$&'%(%)%*%+,;=:]") then return false end
  hostport = hostport or a
  local host, port
  if hostport:sub(1, 1) == "[" then
    host, port = hostport:match("^(%[[%x:%.vV]+%])(.*)$")
    if not host then return false end
  else
    host, port = hostport:match("^([^:]*)(.*)$")
    if not only(host, "[%w%-%._~!%$&'%(%)%*%+,;=]") then return false end
  end
  return port == "" or port:match("^:%d*$") ~= nil
end

local function uri_syntax(s)
  local rest = s:match("^%a[%w%+%-%.]*:(.*)$")
  if not rest then return false, "scheme" end
  local hier, query, fragment = rest, "", ""
  local hash = rest:find("#", 1, true)
  if hash then hier, fragment = rest:sub(1, hash - 1), rest:sub(hash + 1) end
  local q = hier:find("?", 1, true)
  if q then hier, query = hier:sub(1, q - 1), hier:sub(q + 1) end
  if not only(query, PCHAR:sub(1, -2) .. "/%?]") then return false, "query" end
  if not only(fragment, PCHAR:sub(1, -2) .. "/%?]") then return false, "fragment" end
  if hier == "" then return false, "nothing after the scheme" end
  local authority, path = hier:match("^//?([^/]*)(.*)$")
  if authority then
    if not authority_syntax(authority) then return false, "host" end
  else
    path = hier
  end
  if not only(path, PCHAR:sub(1, -2) .. "/]") then return false, "path" end
  return true
end

local check -- forward: the keyword checks below recurse through it

local function add(state, err)
  state.errors[#state.errors + 1] = err
end

-- One error per string at most, like pydantic's constr: length before format. Returns the
-- error's msg, type and ctx, or nil when the string is good (the interpreter below and the
-- compiled checks both ask this, so the rule and its words are written once).
local function string_problem(node, value)
  local n = (node.minLength or node.maxLength) and utf8_len(value)
  if node.minLength and n < node.minLength then
    return "ensure this value has at least " .. repr(node.minLength) .. " characters",
      "value_error.any_str.min_length", { limit_value = node.minLength }
  end
  if node.maxLength and n > node.maxLength then
    return "ensure this value has at most " .. repr(node.maxLength) .. " characters",
      "value_error.any_str.max_length", { limit_value = node.maxLength }
  end
  if node.format == "uri" then
    local ok, why = uri_syntax(value)
    if not ok then
      if why == "scheme" then return "invalid or missing URL scheme", "value_error.url.scheme" end
      return "URL invalid: " .. why, "value_error.url"
    end
  elseif node.format == "uuid4" or node.format == "uuid" then
    -- RFC 4122's textual form (optionally urn:uuid:), as JSON Schema's "uuid" format;
    -- "uuid4" also wants version 4 and the RFC variant, as Python's UUID(...).version
    -- does (a variant other than 10xx has no version at all).
    local h = "%x%x%x%x"
    local version, variant = value:lower():gsub("^urn:uuid:", "")
      :match("^" .. h .. h .. "%-" .. h .. "%-(%x)%x%x%x%-(%x)%x%x%x%-" .. h .. h .. h .. "$")
    if not version then return "value is not a valid uuid", "type_error.uuid" end
    if node.format == "uuid4" and not (version == "4" and variant:match("[89ab]")) then
      return "uuid version 4 expected", "value_error.uuid.version", { required_version = 4 }
    end
  end
end

-- Whether string_problem can say anything about a string under `node`.
local function string_checked(node)
  local f = node.format
  return node.minLength ~= nil or node.maxLength ~= nil or f == "uri" or f == "uuid" or f == "uuid4"
end

-- One error per number at most, in pydantic's order: gt, ge, lt, le. The 3.0 boolean
-- form of exclusiveMinimum/Maximum is read too, in case Adobe regenerates an old file.
-- Returns msg, type, ctx, or nil when the number is good.
local function number_problem(node, value)
  local gt, ge, lt, le = node.exclusiveMinimum, node.minimum, node.exclusiveMaximum, node.maximum
  if gt == true then gt, ge = ge, nil elseif gt == false then gt = nil end
  if lt == true then lt, le = le, nil elseif lt == false then lt = nil end
  if gt and not (value > gt) then
    return "ensure this value is greater than " .. repr(gt), "value_error.number.not_gt", { limit_value = gt }
  end
  if ge and not (value >= ge) then
    return "ensure this value is greater than or equal to " .. repr(ge), "value_error.number.not_ge",
      { limit_value = ge }
  end
  if lt and not (value < lt) then
    return "ensure this value is less than " .. repr(lt), "value_error.number.not_lt", { limit_value = lt }
  end
  if le and not (value <= le) then
    return "ensure this value is less than or equal to " .. repr(le), "value_error.number.not_le",
      { limit_value = le }
  end
end

local function number_checked(node)
  return node.exclusiveMinimum ~= nil or node.minimum ~= nil or node.exclusiveMaximum ~= nil
    or node.maximum ~= nil
end

local function check_string(state, node, value, loc)
  local msg, kind, ctx = string_problem(node, value)
  if msg then add(state, make_error(loc, msg, kind, ctx)) end
end

local function check_number(state, node, value, loc)
  local msg, kind, ctx = number_problem(node, value)
  if msg then add(state, make_error(loc, msg, kind, ctx)) end
end

-- Length first (one error and stop), then every item, then uniqueness of good items.
local function check_array(state, node, value, loc)
  local n = #value
  if node.minItems and n < node.minItems then
    return add(state, make_error(loc, "ensure this value has at least " .. repr(node.minItems)
      .. " items", "value_error.list.min_items", { limit_value = node.minItems }))
  end
  if node.maxItems and n > node.maxItems then
    return add(state, make_error(loc, "ensure this value has at most " .. repr(node.maxItems)
      .. " items", "value_error.list.max_items", { limit_value = node.maxItems }))
  end
  local before = #state.errors
  if node.items then
    for i = 1, n do check(state, node.items, value[i], copy_loc(loc, i - 1)) end
  end
  if node.uniqueItems and #state.errors == before then
    for i = 2, n do
      for j = 1, i - 1 do
        if deep_equal(value[i], value[j]) then
          return add(state, make_error(loc, "the list has duplicated items",
            "value_error.list.unique_items"))
        end
      end
    end
  end
end

-- A properties table's names, sorted, once per table (documents do not change).
local sorted = setmetatable({}, { __mode = "k" })
local function sorted_names(props)
  local names = sorted[props]
  if not names then
    names = {}
    for name in pairs(props) do names[#names + 1] = name end
    table.sort(names)
    sorted[props] = names
  end
  return names
end

-- Missing required fields first, in the schema's order, then present properties sorted by
-- name. Unknown properties pass: Adobe adds fields, and a client must not block them.
local function check_object(state, node, value, loc)
  for _, name in ipairs(node.required or {}) do
    if value[name] == nil then
      add(state, make_error(copy_loc(loc, name), "field required", "value_error.missing"))
    end
  end
  local props = node.properties
  if not props then return end
  local names = sorted_names(props)
  for i = 1, #names do
    local name = names[i]
    -- A JSON null is a value like any other: it passes only where the field's schema
    -- allows null (Adobe's current document allows it nowhere in a request).
    if value[name] ~= nil then check(state, props[name], value[name], copy_loc(loc, name)) end
  end
end

local function type_matches(t, value)
  if type(t) == "table" then
    for _, one in ipairs(t) do
      if type_tests[one] and type_tests[one](value) then return true end
    end
    return false
  end
  local test = type_tests[t]
  return test == nil or test(value)
end

-- The first declared type that is not "null" names the error when nothing matches.
local function type_error(t, loc)
  if type(t) == "table" then
    for _, one in ipairs(t) do
      if one ~= "null" then t = one break end
    end
  end
  local e = type_errors[t] or { "value is not a valid " .. tostring(t), "type_error" }
  return make_error(loc, e[1], e[2])
end

-- anyOf/oneOf: the first branch that accepts wins. When none does, every non-null branch
-- reports, as a pydantic Union does (an Optional[X] reports only X's errors).
local function check_union(state, branches, value, loc)
  local failures = {}
  for _, branch in ipairs(branches) do
    local sub = { doc = state.doc, errors = {}, visits = {} }
    check(sub, branch, value, loc)
    if #sub.errors == 0 then
      for _, v in ipairs(sub.visits) do state.visits[#state.visits + 1] = v end
      return true
    end
    if branch.type ~= "null" then failures[#failures + 1] = sub.errors end
  end
  for _, errs in ipairs(failures) do
    for _, e in ipairs(errs) do add(state, e) end
  end
  return false
end

function check(state, node, value, loc)
  local before = #state.errors
  local ref = node["$ref"]
  if ref then
    check(state, resolve(state.doc, ref), value, loc)
    -- Every value checked against a named component is remembered, so rules beyond the
    -- schema (firefly/validate.lua) can find e.g. every image source wherever it sits.
    state.visits[#state.visits + 1] = {
      name = ref_name(ref), value = value, loc = loc, ok = #state.errors == before,
    }
    if #state.errors > before then return end
  end
  if node.allOf then
    for _, sub in ipairs(node.allOf) do
      check(state, sub, value, loc)
      if #state.errors > before then return end
    end
  end
  local branches = node.anyOf or node.oneOf
  if branches and not check_union(state, branches, value, loc) then return end

  local t = node.type
  if is_null(value) then
    -- null passes where the schema says "null" (or says nothing); a typed field or an
    -- enum refuses it the way pydantic refuses None for a non-Optional field.
    if t ~= nil and type_matches(t, value) then return end
    if t ~= nil or (node.enum and not (ref or node.allOf or branches)) then
      return add(state, make_error(loc, "none is not an allowed value", "type_error.none.not_allowed"))
    end
    return
  end
  if t ~= nil and not type_matches(t, value) then
    return add(state, type_error(t, loc))
  end
  if node.enum then
    local found = false
    for _, allowed in ipairs(node.enum) do
      if deep_equal(allowed, value) then found = true break end
    end
    if not found then return add(state, enum_error(loc, node.enum)) end
  end
  if type(value) == "string" then
    check_string(state, node, value, loc)
  elseif is_number(value) then
    check_number(state, node, value, loc)
  elseif type(value) == "table" then
    -- Without a declared type the shape decides; an empty table is checked both ways.
    -- (type_matches has already seen a declared "array" or "object"; is_array and is_object walk the table.)
    if t == "array" or (t == nil and node.items and is_array(value)) then
      check_array(state, node, value, loc)
    end
    if t == "object" or (t == nil and (node.properties or node.required) and is_object(value)) then
      check_object(state, node, value, loc)
    end
  end
end

---------------------------------------------------------------------------------------------
-- The compiled check: the same judgement, once per schema node
---------------------------------------------------------------------------------------------

-- Most bodies are valid, and for them the interpreter above re-reads the schema document
-- and copies a loc table for every field it visits. Here each node becomes, once per
-- document, a closure that knows its own keywords and the closures of its parts, and
-- answers only "valid or not", building no loc and no error: loc is one stack (path, depth)
-- written in place, copied only for a visit. It must accept exactly what check() accepts
-- with no error, and record the same visits in the same order (spec/schema_compiled_spec.lua
-- holds the two side by side); for a value it refuses, schema.validate's interpreter
-- says why, so every error's wording lives in one place.

local compiled = setmetatable({}, { __mode = "k" }) -- doc -> { node -> closure }
local compile -- forward: nodes compile their parts through it

local function always() return true end

-- The type test of a node's `type` (a name or a list of names), as type_matches reads it.
local function type_test(t)
  if type(t) ~= "table" then return type_tests[t] or always end
  local tests = {}
  for _, one in ipairs(t) do
    if type_tests[one] then tests[#tests + 1] = type_tests[one] end
  end
  return function(value)
    for i = 1, #tests do
      if tests[i](value) then return true end
    end
    return false
  end
end

-- Membership of `enum`: a set when every member is a string, number or boolean (where
-- deep_equal is ==), else deep_equal over the list.
local function enum_test(enum)
  local set = {}
  for _, allowed in ipairs(enum) do
    local kind = type(allowed)
    if kind ~= "string" and kind ~= "boolean" and not (kind == "number" and allowed == allowed) then
      set = nil
      break
    end
    set[allowed] = true
  end
  if set then
    return function(value) return set[value] == true end -- (NaN reads nil: equal to nothing)
  end
  return function(value)
    for _, allowed in ipairs(enum) do
      if deep_equal(allowed, value) then return true end
    end
    return false
  end
end

-- A visit's loc: made at its size for a body's usual depths (a table grown slot by slot is
-- resized at each of the first ones).
local function copy_path(path, depth)
  if depth == 1 then return { path[1] } end
  if depth == 2 then return { path[1], path[2] } end
  if depth == 3 then return { path[1], path[2], path[3] } end
  local out = {}
  for i = 1, depth do out[i] = path[i] end
  return out
end

-- What check_array and check_object accept, for a node that has items or properties or
-- required (nil when it has none of them).
local function array_part(doc, node)
  local min, max, unique = node.minItems, node.maxItems, node.uniqueItems
  local items = node.items and compile(doc, node.items)
  return function(value, visits, path, depth)
    local n = #value
    if min and n < min then return false end
    if max and n > max then return false end
    if items then
      for i = 1, n do
        path[depth + 1] = i - 1
        if not items(value[i], visits, path, depth + 1) then return false end
      end
    end
    if unique then
      for i = 2, n do
        for j = 1, i - 1 do
          if deep_equal(value[i], value[j]) then return false end
        end
      end
    end
    return true
  end
end

-- The required names are there, and the first n of names (in order) pass their parts.
local function fields_pass(value, visits, path, depth, required, nreq, names, parts, n)
  for i = 1, nreq do
    if value[required[i]] == nil then return false end
  end
  for i = 1, n do
    local name = names[i]
    local v = value[name]
    if v ~= nil then
      path[depth + 1] = name
      if not parts[i](v, visits, path, depth + 1) then return false end
    end
  end
  return true
end

local function object_part(doc, node)
  local required = node.required or {}
  local props = node.properties
  local names, parts = props and sorted_names(props) or {}, {}
  for i = 1, #names do parts[i] = compile(doc, props[names[i]]) end
  local nreq, nprops = #required, #names
  return function(value, visits, path, depth)
    return fields_pass(value, visits, path, depth, required, nreq, names, parts, nprops)
  end
end

-- Whether checking a value against `node` can record a visit: a $ref anywhere in it.
-- (Within a node the document is a tree: only a $ref leads elsewhere, and it answers yes.)
local may_visit_in = setmetatable({}, { __mode = "k" }) -- doc -> { node -> boolean }

local function may_visit(doc, node)
  local known = may_visit_in[doc]
  if not known then
    known = {}
    may_visit_in[doc] = known
  end
  local yes = known[node]
  if yes ~= nil then return yes end
  yes = node["$ref"] ~= nil or (node.items ~= nil and may_visit(doc, node.items))
  for _, list in ipairs { node.allOf or {}, node.anyOf or {}, node.oneOf or {} } do
    for _, sub in ipairs(list) do yes = yes or may_visit(doc, sub) end
  end
  for _, sub in pairs(node.properties or {}) do yes = yes or may_visit(doc, sub) end
  known[node] = yes
  return yes
end

-- The shapes most nodes have, each a closure of its own (what build's general closure
-- would do for them, with the keywords it lacks left out).

-- {"$ref": ...} alone, or {"allOf": [...]} alone: its parts, and the visit.
local function ref_only(target, name)
  return function(value, visits, path, depth)
    if not target(value, visits, path, depth) then return false end
    visits[#visits + 1] = { name = name, value = value, loc = copy_path(path, depth), ok = true }
    return true
  end
end

local function all_only(all)
  local n = #all
  return function(value, visits, path, depth)
    for i = 1, n do
      if not all[i](value, visits, path, depth) then return false end
    end
    return true
  end
end

-- "type": "integer" or "number" with bounds: number_problem's four comparisons, the 3.0
-- boolean forms read once here.
local function number_only(node, typed, member)
  local gt, ge, lt, le = node.exclusiveMinimum, node.minimum, node.exclusiveMaximum, node.maximum
  if gt == true then gt, ge = ge, nil elseif gt == false then gt = nil end
  if lt == true then lt, le = le, nil elseif lt == false then lt = nil end
  return function(value)
    if not typed(value) then return false end -- null too: a typed field refuses it
    if member and not member(value) then return false end
    return (gt == nil or value > gt) and (ge == nil or value >= ge) and (lt == nil or value < lt)
      and (le == nil or value <= le)
  end
end

local function string_only(node, member)
  local strings = string_checked(node) and node
  return function(value)
    if type(value) ~= "string" then return false end -- null too
    if member and not member(value) then return false end
    return not strings or string_problem(strings, value) == nil
  end
end

-- "type": "object": one walk over the value's keys both proves them all strings (is_object)
-- and checks the properties that cannot record a visit; those that can are checked after,
-- in name order, so visits keep the interpreter's order. A table with a metatable takes
-- object_part's way, which reads fields as the interpreter does (an __index counts).
local function object_only(doc, node, member)
  local props = node.properties or {}
  local plain, names, parts = {}, {}, {}
  for _, name in ipairs(sorted_names(props)) do
    if may_visit(doc, props[name]) then
      names[#names + 1], parts[#parts + 1] = name, compile(doc, props[name])
    else
      plain[name] = compile(doc, props[name])
    end
  end
  local required = node.required or {}
  local nreq, nvisit = #required, #names
  local general = object_part(doc, node)
  return function(value, visits, path, depth)
    if type(value) ~= "table" then return false end -- null too
    if getmetatable(value) ~= nil then
      return is_object(value) and (not member or member(value)) and general(value, visits, path, depth)
    end
    if member and not member(value) then return false end
    for k, v in pairs(value) do
      if type(k) ~= "string" then return false end
      local part = plain[k]
      if part then
        path[depth + 1] = k
        if not part(v, visits, path, depth + 1) then return false end
      end
    end
    return fields_pass(value, visits, path, depth, required, nreq, names, parts, nvisit)
  end
end

-- One node's closure: check() with every keyword looked up once, here.
local function build(doc, node)
  local ref = node["$ref"]
  local target = ref and compile(doc, resolve(doc, ref))
  local name = ref and ref_name(ref)
  local all
  if node.allOf then
    all = {}
    for i, sub in ipairs(node.allOf) do all[i] = compile(doc, sub) end
  end
  local branches = node.anyOf or node.oneOf
  local union
  if branches then
    union = {}
    for i, branch in ipairs(branches) do union[i] = compile(doc, branch) end
  end
  local t = node.type
  local typed = t ~= nil and type_test(t)
  -- null with no type: refused only by an enum that stands alone (check()'s words).
  local null_ok = t ~= nil and typed(null) or (t == nil and not (node.enum and not (ref or node.allOf or branches)))
  local member = node.enum and enum_test(node.enum)
  local strings = string_checked(node) and node
  local numbers = number_checked(node) and node
  local as_array = (t == "array" or (t == nil and node.items)) and array_part(doc, node)
  local as_object = (t == "object" or (t == nil and (node.properties or node.required))) and object_part(doc, node)
  local shape = t == nil -- without a declared type the table's shape picks the checks
  local composed = ref or node.allOf or branches
  local scalar = not (composed or node.items or node.properties or node.required)
  if ref and not (node.allOf or branches or t or node.enum or node.items or node.properties or node.required
                  or strings or numbers) then
    return ref_only(target, name)
  elseif node.allOf and not (ref or branches or t or node.enum or node.items or node.properties
                             or node.required or strings or numbers) then
    return all_only(all)
  elseif scalar and (t == "integer" or t == "number") and not strings then
    return number_only(node, typed, member)
  elseif scalar and t == "string" and not numbers then
    return string_only(node, member)
  elseif t == "object" and not (composed or node.items or strings or numbers) then
    return object_only(doc, node, member)
  end
  return function(value, visits, path, depth)
    if target then
      if not target(value, visits, path, depth) then return false end
      visits[#visits + 1] = { name = name, value = value, loc = copy_path(path, depth), ok = true }
    end
    if all then
      for i = 1, #all do
        if not all[i](value, visits, path, depth) then return false end
      end
    end
    if union then
      local mark, accepted = #visits, false
      for i = 1, #union do
        if union[i](value, visits, path, depth) then
          accepted = true
          break
        end
        for k = #visits, mark + 1, -1 do visits[k] = nil end -- a refused branch's visits go
      end
      if not accepted then return false end
    end
    if value == null then return null_ok end
    if typed and not typed(value) then return false end
    if member and not member(value) then return false end
    local kind = type(value)
    if kind == "string" then
      return not strings or string_problem(strings, value) == nil
    elseif kind == "table" then
      if as_array and (not shape or is_array(value)) and not as_array(value, visits, path, depth) then
        return false
      end
      if as_object and (not shape or is_object(value)) and not as_object(value, visits, path, depth) then
        return false
      end
    elseif numbers and is_number(value) then
      return number_problem(numbers, value) == nil
    end
    return true
  end
end

function compile(doc, node)
  local known = compiled[doc]
  if not known then
    known = {}
    compiled[doc] = known
  end
  local fn = known[node]
  if fn then return fn end
  -- A schema may name itself (a tree of nodes): its parts get this stand-in until it is built.
  local built
  known[node] = function(...) return built(...) end
  built = build(doc, node)
  known[node] = built
  return built
end

---------------------------------------------------------------------------------------------
-- Public
---------------------------------------------------------------------------------------------

-- Checks `value` against `node` (a schema inside `doc`), naming failures under `loc`.
-- Returns the list of errors (empty when valid) and the list of visits: one
-- `{name, value, loc, ok}` per value checked against a named component.
function schema.validate(doc, node, value, loc)
  local state = { doc = doc, errors = {}, visits = {} }
  check(state, node, value, copy_loc(loc or {}))
  return state.errors, state.visits
end

-- The same judgement, by the node's compiled check: the list of visits when `value` is
-- valid (what schema.validate returns with no error), nil when it is not (schema.validate
-- then says why). For the many valid bodies it costs no loc and no error table.
function schema.accepts(doc, node, value, loc)
  -- Room for a body's usual depth at once (a table grown slot by slot reallocates each time);
  -- only path[1..depth] is ever read.
  local path = { false, false, false, false, false, false }
  loc = loc or {}
  for i = 1, #loc do path[i] = loc[i] end
  local visits = {}
  if compile(doc, node)(value, visits, path, #loc) then return visits end
  return nil
end

-- Documents are read only once loaded, and what is read from one is kept (its followed
-- refs, its compiled checks). A caller that edits one anyway (a spec breaking the validator
-- on purpose) says so here, and the next check reads the document anew.
function schema.forget(doc)
  compiled[doc], may_visit_in[doc], followed[doc] = nil, nil, nil
end

schema.resolve = resolve
schema.error = make_error
schema.enum_error = enum_error
schema.repr = repr
schema.is_null = is_null
schema.is_integer = is_integer
schema.is_array = is_array
schema.is_object = is_object
schema.utf8_len = utf8_len
schema.type_errors = type_errors

return schema
