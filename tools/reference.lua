-- Writes types/firefly.d.lua (lua-language-server definitions) and
-- docs/reference.md (the reference manual) from one description: docs/api.lua
-- for the prose, the operation registry for the methods, firefly.options and
-- firefly._call_options for the options, Adobe's schemas for every request
-- body, and `firefly --help` for the CLI. Both outputs come from the same
-- tables, so they cannot disagree; tools/fresh-check fails when a committed
-- one is stale.
--   lua5.4 tools/reference.lua [OUTDIR]     (with the built tree on the path: make fresh)

local outdir = arg[1] or "."
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path

local api = dofile("docs/api.lua")
local firefly = require "firefly"
local operations = require "firefly.operations"
local options = require "firefly.options"
local validate = require "firefly.validate"
local cli = require "firefly.cli"
local version = require "firefly.version"

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local function oneline(s)
  return (tostring(s or ""):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

-- ---- Adobe's schemas as lua-language-server types ----

local classes, class_order = {}, {}   -- name -> {doc, parent, fields | alias}
local inline = {}                      -- classes made for inline objects, by name

local function literal(v)
  if type(v) == "string" then return ('"%s"'):format(v) end
  if type(v) == "number" and v == math.floor(v) then return ("%d"):format(v) end -- cjson gives 4.0
  return tostring(v)
end

local function json_value(v)
  if type(v) == "table" then
    local parts = {}
    for _, k in ipairs(sorted_keys(v)) do parts[#parts + 1] = k .. " = " .. json_value(v[k]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return literal(v)
end

-- The constraints a schema states, in words: ranges, lengths, counts, formats, defaults.
local function constraints(s)
  local out, n = {}, literal
  if s.minimum and s.maximum then
    out[#out + 1] = ("range %s..%s"):format(n(s.minimum), n(s.maximum))
  else
    local parts = {}
    if s.minimum then parts[#parts + 1] = ">= " .. n(s.minimum) end
    if s.exclusiveMinimum then parts[#parts + 1] = "> " .. n(s.exclusiveMinimum) end
    if s.maximum then parts[#parts + 1] = "<= " .. n(s.maximum) end
    if s.exclusiveMaximum then parts[#parts + 1] = "< " .. n(s.exclusiveMaximum) end
    if #parts > 0 then out[#out + 1] = table.concat(parts, ", ") end
  end
  if s.minLength or s.maxLength then
    out[#out + 1] = ("length %s..%s"):format(n(s.minLength or 0), s.maxLength and n(s.maxLength) or "")
  end
  if s.minItems or s.maxItems then
    out[#out + 1] = ("%s..%s items"):format(n(s.minItems or 0), s.maxItems and n(s.maxItems) or "")
  end
  if s.uniqueItems then out[#out + 1] = "unique" end
  if s.format then out[#out + 1] = "format " .. s.format end
  if s.default ~= nil and type(s.default) ~= "userdata" then out[#out + 1] = "default " .. json_value(s.default) end
  if s.deprecated then out[#out + 1] = "deprecated" end
  return out
end

local type_of

local function component(doc, name)
  if classes[name] then return "firefly." .. name end
  local s = inline[name] or doc.components.schemas[name]
  assert(s, "no schema " .. name)
  classes[name] = { pending = true }
  class_order[#class_order + 1] = name
  local c = { doc = oneline(s.description or s.title) }
  if c.doc == name then c.doc = "" end
  if s.enum or s.anyOf or s.oneOf or (s.type and s.type ~= "object") then
    c.alias = type_of(doc, s, name)
    c.notes = constraints(s)
  else
    c.fields = {}
    local parts = { s }
    if s.allOf then
      for _, p in ipairs(s.allOf) do
        if p["$ref"] and not c.parent then c.parent = component(doc, p["$ref"]:match("[^/]+$"))
        else parts[#parts + 1] = p end
      end
    end
    local required = {}
    for _, p in ipairs(parts) do
      for _, r in ipairs(p.required or {}) do required[r] = true end
    end
    for _, p in ipairs(parts) do
      for _, field in ipairs(sorted_keys(p.properties or {})) do
        local fs = p.properties[field]
        local t, nullable = type_of(doc, fs, name .. "." .. field)
        local notes = constraints(fs)
        local text = oneline(fs.description or fs.title)
        if text == field then text = "" end
        c.fields[#c.fields + 1] = { name = field, type = t, optional = nullable or not required[field],
          notes = notes, doc = text, required = required[field] }
        -- Every image `source` also takes {path = ...} (lua/firefly/inputs.lua).
        local src = field == "source" and classes[t:match("^firefly%.([%w_.]+)$") or ""]
        if src and src.fields and not src.takes_path then
          src.takes_path = true
          src.fields[#src.fields + 1] = { name = "path", type = "string", optional = true, notes = {},
            doc = api.source_path }
        end
      end
    end
  end
  classes[name] = c
  return "firefly." .. name
end

local function union(list)
  local seen, out = {}, {}
  for _, t in ipairs(list) do
    if not seen[t] then seen[t] = true; out[#out + 1] = t end
  end
  return table.concat(out, "|")
end

-- The lua-language-server type of a schema, and whether JSON null is allowed.
function type_of(doc, s, where)
  if s["$ref"] then return component(doc, s["$ref"]:match("[^/]+$")), false end
  if s.enum then
    local lits = {}
    for _, v in ipairs(s.enum) do lits[#lits + 1] = literal(v) end
    return union(lits), false
  end
  if s.const ~= nil then return literal(s.const), false end
  local alts = s.anyOf or s.oneOf or (s.allOf and #s.allOf == 1 and s.allOf)
  if alts then
    local list, nullable = {}, false
    for _, a in ipairs(alts) do
      if a.type == "null" then nullable = true
      else
        local t, n = type_of(doc, a, where)
        list[#list + 1] = t
        nullable = nullable or n
      end
    end
    return union(list), nullable
  end
  if s.allOf then return "table", false end
  local t = s.type
  local nullable = false
  if type(t) == "table" then
    local list = {}
    for _, x in ipairs(t) do
      if x == "null" then nullable = true else list[#list + 1] = x end
    end
    t = #list == 1 and list[1] or nil
  end
  if t == "string" then return "string", nullable end
  if t == "integer" then return "integer", nullable end
  if t == "number" then return "number", nullable end
  if t == "boolean" then return "boolean", nullable end
  if t == "array" then
    local item = s.items and type_of(doc, s.items, where .. "[]") or "any"
    if item:find("|", 1, true) then item = "(" .. item .. ")" end
    return item .. "[]", nullable
  end
  if t == "object" or s.properties then
    if s.properties then
      -- An inline object gets a class of its own, named for where it sits.
      local name = where:gsub("[^%w_.]", "_")
      inline[name] = s
      return component(doc, name), nullable
    end
    if type(s.additionalProperties) == "table" then
      return "table<string, " .. type_of(doc, s.additionalProperties, where .. ".*") .. ">", nullable
    end
    return "table", nullable
  end
  return "any", nullable
end

-- ---- the registry's methods ----

local methods, method_order = {}, {}
for _, entry in ipairs(operations.list) do
  if entry.method and not entry.deprecated then
    local m = methods[entry.method]
    if not m then
      m = { name = entry.method, entries = {} }
      methods[entry.method] = m
      method_order[#method_order + 1] = m
    end
    m.entries[#m.entries + 1] = entry
    if entry.body == "json" then
      local op = validate.operation(entry.name)
      entry.body_type = component(op.document, op.schema_name)
      entry.model_versions = op.model_versions
      entry.default_model_version = op.default_model_version or entry.model_version
    end
  end
end

local hand = {}
for _, f in ipairs(api.client) do hand[f.name] = f end

local RESULT_OF = { images = "firefly.Result", upscale = "firefly.Result", video = "firefly.Result" }

-- A generating method's description, as the hand-written ones are.
local function registry_function(m)
  if hand[m.name] then return hand[m.name] end
  local bodies, versions, lines = {}, {}, {}
  for _, e in ipairs(m.entries) do
    bodies[#bodies + 1] = e.body_type
    for _, v in ipairs(e.model_versions or {}) do versions[#versions + 1] = literal(v) end
    lines[#lines + 1] = ("`%s %s`%s: %s"):format(e.http, e.path,
      e.selects_on and (" (model_version " .. table.concat(e.selects_on, ", ") .. ")") or "", e.summary)
  end
  return {
    name = m.name, registry = m,
    params = { { "body", union(bodies), "Adobe's request, field names as Adobe spells them" },
      { "opts", #versions > 0 and ("firefly.CallOptions." .. m.name .. "?") or "firefly.CallOptions?" } },
    returns = { { union { RESULT_OF[m.entries[1].result] or "table", "firefly.Job", "nil" }, "result",
        "the result (a job, with opts.wait = false)" }, { "firefly.Error?", "err" } },
    doc = table.concat(lines, "; "), versions = versions,
  }
end

local client_functions = {}
for _, m in ipairs(method_order) do client_functions[#client_functions + 1] = registry_function(m) end
for _, f in ipairs(api.client) do
  if not methods[f.name] then client_functions[#client_functions + 1] = f end
end

-- ---- options ----

local LUA_TYPE = { string = "string", number = "number", boolean = "boolean", table = "table",
                   ["function"] = "function" }

local function option_rows()
  local rows = {}
  for _, k in ipairs(sorted_keys(options.TYPES)) do
    local d = api.options[k]
    assert(d, "docs/api.lua: options." .. k .. " is not described")
    local t, text = LUA_TYPE[options.TYPES[k]], d
    if type(d) == "table" then t, text = d[1], d[2] end
    rows[#rows + 1] = { name = k, type = t, doc = text, default = options.DEFAULTS[k], env = options.ENV[k] }
  end
  for k in pairs(api.options) do assert(options.TYPES[k], "docs/api.lua: options." .. k .. " is no option") end
  return rows
end

local function call_option_rows()
  local rows = {}
  for _, k in ipairs(sorted_keys(firefly._call_options)) do
    local d = api.call_options[k]
    assert(d, "docs/api.lua: call_options." .. k .. " is not described")
    local t, text = LUA_TYPE[firefly._call_options[k]], d
    if type(d) == "table" then t, text = d[1], d[2] end
    rows[#rows + 1] = { name = k, type = t, doc = text }
  end
  for k in pairs(api.call_options) do
    assert(firefly._call_options[k], "docs/api.lua: call_options." .. k .. " is no option")
  end
  return rows
end

-- ---- types/firefly.d.lua ----

local function comment(notes, text)
  local parts = {}
  for _, n in ipairs(notes or {}) do parts[#parts + 1] = n end
  local s = table.concat(parts, ", ")
  if text and text ~= "" then s = (s ~= "" and (s .. ". ") or "") .. text end
  return s ~= "" and (" " .. s) or ""
end

-- "T?" is an optional T; a function type is optional only as "fun(...)?" (its own
-- "fun(): T?" means an optional result).
local function optional_type(t)
  if t:find("^fun%(") then
    if t:sub(-2) == ")?" then return true, t:sub(1, -2) end
    return false, t
  end
  if t:sub(-1) == "?" then return true, t:sub(1, -2) end
  return false, t
end

local function emit_function(out, owner, sep, f)
  out[#out + 1] = "---" .. oneline(f.doc)
  local names = {}
  for _, p in ipairs(f.params or {}) do
    local pname = p[1]
    local optional, ptype = optional_type(p[2])
    if pname == "..." then
      out[#out + 1] = ("---@param ... %s%s"):format(ptype, comment(nil, p[3]))
    else
      out[#out + 1] = ("---@param %s%s %s%s"):format(pname, optional and "?" or "", ptype, comment(nil, p[3]))
    end
    names[#names + 1] = pname
  end
  for _, r in ipairs(f.returns or {}) do
    out[#out + 1] = ("---@return %s%s%s"):format(r[1], r[2] and (" " .. r[2]) or "", r[3] and (" # " .. r[3]) or "")
  end
  out[#out + 1] = ("function %s%s%s(%s) end"):format(owner, sep, f.name, table.concat(names, ", "))
  out[#out + 1] = ""
end

local function emit_fields(out, fields)
  for _, fl in ipairs(fields) do
    local optional, t = optional_type(fl[2])
    out[#out + 1] = ("---@field %s%s %s%s"):format(fl[1], optional and "?" or "", t, comment(nil, fl[3]))
  end
end

local function types_file()
  local out = {
    "---@meta firefly",
    "-- firefly " .. version .. ": lua-language-server definitions.",
    "-- Generated by tools/reference.lua from docs/api.lua, lua/firefly/operations.lua and",
    "-- Adobe's schemas (lua/firefly/openapi); do not edit: run `make fresh` after changing those.",
    "",
  }
  out[#out + 1] = "---@class firefly"
  out[#out + 1] = "---@field _VERSION string \"firefly " .. version .. "\""
  out[#out + 1] = "local firefly = {}"
  out[#out + 1] = ""
  for _, f in ipairs(api.module) do emit_function(out, "firefly", ".", f) end

  out[#out + 1] = "---firefly.new's options; each may be omitted."
  out[#out + 1] = "---@class firefly.Options"
  for _, r in ipairs(option_rows()) do
    local notes = {}
    if r.default ~= nil then notes[#notes + 1] = "default " .. json_value(r.default) end
    if r.env then notes[#notes + 1] = "env " .. r.env end
    out[#out + 1] = ("---@field %s? %s%s"):format(r.name, r.type, comment(notes, r.doc))
  end
  out[#out + 1] = ""
  out[#out + 1] = "---What a call's opts carry besides the body."
  out[#out + 1] = "---@class firefly.CallOptions"
  for _, r in ipairs(call_option_rows()) do
    local t = r.name == "on_progress" and "fun(job: firefly.Job)" or r.type
    out[#out + 1] = ("---@field %s? %s%s"):format(r.name, t, comment(nil, r.doc))
  end
  out[#out + 1] = ""
  for _, f in ipairs(client_functions) do
    if f.versions and #f.versions > 0 then
      out[#out + 1] = ("---ff:%s's opts: model_version is one of its document's x-model-version values."):format(f.name)
      out[#out + 1] = ("---@class firefly.CallOptions.%s: firefly.CallOptions"):format(f.name)
      out[#out + 1] = ("---@field model_version? %s|string"):format(union(f.versions))
      out[#out + 1] = ""
    end
  end

  out[#out + 1] = "---A client: one per set of credentials (firefly.new)."
  out[#out + 1] = "---@class firefly.Client"
  out[#out + 1] = "local Client = {}"
  out[#out + 1] = ""
  for _, f in ipairs(client_functions) do emit_function(out, "Client", ":", f) end

  for _, c in ipairs(api.classes) do
    out[#out + 1] = "---" .. oneline(c.doc)
    out[#out + 1] = "---@class " .. c.name
    emit_fields(out, c.fields)
    local var = c.name:gsub("^firefly%.", "")
    if c.methods then
      out[#out + 1] = "local " .. var .. " = {}"
      out[#out + 1] = ""
      for _, f in ipairs(c.methods) do emit_function(out, var, ":", f) end
    else
      out[#out + 1] = ""
    end
  end

  local kinds = {}
  for _, k in ipairs(api.error_kinds) do kinds[#kinds + 1] = literal(k[1]) end
  out[#out + 1] = "---err.kind: what went wrong (see the manual's Errors)."
  out[#out + 1] = "---@alias firefly.ErrorKind " .. table.concat(kinds, "|")
  out[#out + 1] = ""
  out[#out + 1] = "---Everything that goes wrong at run time: `nil, err`. tostring(err) reads well and holds no secret."
  out[#out + 1] = "---@class firefly.Error"
  emit_fields(out, api.error_fields)
  out[#out + 1] = ""

  out[#out + 1] = "-- ---- request bodies: Adobe's schemas, field names as Adobe spells them ----"
  out[#out + 1] = ""
  for _, name in ipairs(class_order) do
    local c = classes[name]
    if c.doc ~= "" then out[#out + 1] = "---" .. c.doc end
    if c.alias then
      out[#out + 1] = ("---@alias firefly.%s %s%s"):format(name, c.alias, "")
    else
      out[#out + 1] = ("---@class firefly.%s%s"):format(name, c.parent and (": " .. c.parent) or "")
      for _, fl in ipairs(c.fields) do
        out[#out + 1] = ("---@field %s%s %s%s"):format(fl.name, fl.optional and "?" or "", fl.type,
          comment(fl.notes, fl.doc))
      end
    end
    out[#out + 1] = ""
  end
  out[#out + 1] = "return firefly"
  return table.concat(out, "\n") .. "\n"
end

-- ---- docs/reference.md ----

local function md_escape(s)
  return (tostring(s):gsub("|", "\\|"))
end

local function signature(owner, sep, f)
  local names = {}
  for _, p in ipairs(f.params or {}) do names[#names + 1] = p[1] end
  return ("%s%s%s(%s)"):format(owner, sep, f.name, table.concat(names, ", "))
end

local function anchor(name)
  return (name:lower():gsub("[^%w%- ]", ""):gsub(" ", "-"))
end

local function md_function(out, owner, sep, f)
  out[#out + 1] = ("### `%s`"):format(signature(owner, sep, f))
  out[#out + 1] = ""
  out[#out + 1] = oneline(f.doc)
  out[#out + 1] = ""
  for _, p in ipairs(f.params or {}) do
    out[#out + 1] = ("* `%s` (`%s`)%s"):format(p[1], p[2], p[3] and (": " .. p[3]) or "")
  end
  for _, r in ipairs(f.returns or {}) do
    out[#out + 1] = ("* returns `%s`%s%s"):format(r[1], r[2] and (" " .. r[2]) or "", r[3] and (": " .. r[3]) or "")
  end
  out[#out + 1] = ""
end

local function md_fields(out, fields)
  out[#out + 1] = "| field | type | |"
  out[#out + 1] = "|---|---|---|"
  for _, fl in ipairs(fields) do
    out[#out + 1] = ("| `%s` | `%s` | %s |"):format(fl[1], md_escape(fl[2]), md_escape(fl[3] or ""))
  end
  out[#out + 1] = ""
end

local function capture_cli(args)
  local buf = {}
  local sink = { write = function(self, ...) for _, s in ipairs { ... } do buf[#buf + 1] = s end return self end }
  cli.main(args, { out = sink, err = sink })
  return table.concat(buf)
end

local function manual()
  local out = {
    "# firefly " .. version .. " reference",
    "",
    "<!-- Generated by tools/reference.lua from docs/api.lua, lua/firefly/operations.lua and Adobe's",
    "     schemas; do not edit: run `make fresh` after changing those. -->",
    "",
    oneline(api.intro),
    "",
    "Contents: [Module](#module) · [Options](#options) · [Call options](#call-options) ·",
    "[Client](#client) · [Jobs, results, outputs, events](#jobs-results-outputs-events) ·",
    "[Errors](#errors) · [Request bodies](#request-bodies) · [The `firefly` command](#the-firefly-command)",
    "",
    "Editors: `types/firefly.d.lua` (shipped with the rock) gives lua-language-server every",
    "method, option and request body below; add its directory to `workspace.library`.",
    "",
    "## Module",
    "",
  }
  for _, f in ipairs(api.module) do md_function(out, "firefly", ".", f) end

  out[#out + 1] = "## Options"
  out[#out + 1] = ""
  out[#out + 1] = "`firefly.new{...}`; an option not given falls back to its environment variable, then its default."
  out[#out + 1] = ""
  out[#out + 1] = "| option | type | default | environment | |"
  out[#out + 1] = "|---|---|---|---|---|"
  for _, r in ipairs(option_rows()) do
    out[#out + 1] = ("| `%s` | `%s` | %s | %s | %s |"):format(r.name, md_escape(r.type),
      r.default ~= nil and ("`" .. md_escape(json_value(r.default)) .. "`") or "",
      r.env and ("`" .. r.env .. "`") or "",
      md_escape(r.doc))
  end
  out[#out + 1] = ""
  out[#out + 1] = "## Call options"
  out[#out + 1] = ""
  out[#out + 1] = "The `opts` of every generating call (and of `ff:job`): what is not body."
  out[#out + 1] = ""
  out[#out + 1] = "| option | type | |"
  out[#out + 1] = "|---|---|---|"
  for _, r in ipairs(call_option_rows()) do
    out[#out + 1] = ("| `%s` | `%s` | %s |"):format(r.name, r.type, md_escape(r.doc))
  end
  out[#out + 1] = ""

  out[#out + 1] = "## Client"
  out[#out + 1] = ""
  out[#out + 1] = "One method per Firefly operation (lua/firefly/operations.lua):"
  out[#out + 1] = ""
  out[#out + 1] = "| method | Firefly call | model versions | CLI | |"
  out[#out + 1] = "|---|---|---|---|---|"
  for _, m in ipairs(method_order) do
    for _, e in ipairs(m.entries) do
      local versions = {}
      for _, v in ipairs(e.model_versions or {}) do
        versions[#versions + 1] = v == e.default_model_version and ("**" .. v .. "**") or v
      end
      out[#out + 1] = ("| `ff:%s` | `%s %s` | %s | %s | %s |"):format(m.name, e.http, e.path,
        table.concat(versions, ", "), e.cli and ("`firefly " .. e.cli .. "`") or "", md_escape(e.summary))
    end
  end
  out[#out + 1] = ""
  out[#out + 1] = "A generating call waits and returns `result, nil` or `nil, err`; with `opts.wait = false`"
  out[#out + 1] = "it returns a `firefly.Job` at once. In bold: the model version sent when none is named."
  out[#out + 1] = ""
  for _, f in ipairs(client_functions) do
    md_function(out, "ff", ":", f)
    if f.registry then
      local links = {}
      for _, e in ipairs(f.registry.entries) do
        if e.body_type then
          local n = e.body_type:gsub("^firefly%.", "")
          links[#links + 1] = ("[`%s`](#%s)"):format(n, anchor(n))
        end
      end
      if #links > 0 then
        out[#out + 1] = "Body: " .. table.concat(links, ", ") .. "."
        out[#out + 1] = ""
      end
    end
  end

  out[#out + 1] = "## Jobs, results, outputs, events"
  out[#out + 1] = ""
  for _, c in ipairs(api.classes) do
    out[#out + 1] = "### `" .. c.name .. "`"
    out[#out + 1] = ""
    out[#out + 1] = oneline(c.doc)
    out[#out + 1] = ""
    md_fields(out, c.fields)
    local var = c.name:gsub("^firefly%.", ""):lower()
    for _, f in ipairs(c.methods or {}) do
      out[#out + 1] = ("`%s` — %s"):format(signature(var, ":", f), oneline(f.doc))
      out[#out + 1] = ""
    end
  end

  out[#out + 1] = "## Errors"
  out[#out + 1] = ""
  out[#out + 1] = "Misuse raises. Everything that can go wrong at run time returns `nil, err`; `err` is a"
  out[#out + 1] = "`firefly.Error` with a `__tostring`, and never holds a secret, token or API key."
  out[#out + 1] = ""
  md_fields(out, api.error_fields)
  out[#out + 1] = "| `err.kind` | what it means |"
  out[#out + 1] = "|---|---|"
  for _, k in ipairs(api.error_kinds) do out[#out + 1] = ("| `%s` | %s |"):format(k[1], md_escape(k[2])) end
  out[#out + 1] = ""

  out[#out + 1] = "## Request bodies"
  out[#out + 1] = ""
  out[#out + 1] = "Adobe's schemas, as the validator reads them. Field names are Adobe's; *required* fields"
  out[#out + 1] = "are marked; the constraints are checked before anything is sent (`validation` errors)."
  out[#out + 1] = ""
  for _, name in ipairs(class_order) do
    local c = classes[name]
    out[#out + 1] = "### " .. name
    out[#out + 1] = ""
    if c.doc ~= "" then
      out[#out + 1] = c.doc
      out[#out + 1] = ""
    end
    if c.alias then
      local notes = #c.notes > 0 and (" (" .. table.concat(c.notes, ", ") .. ")") or ""
      out[#out + 1] = "One of: `" .. md_escape(c.alias) .. "`" .. notes
      out[#out + 1] = ""
    else
      if c.parent then
        local p = c.parent:gsub("^firefly%.", "")
        out[#out + 1] = ("Every field of [`%s`](#%s), and:"):format(p, anchor(p))
        out[#out + 1] = ""
      end
      out[#out + 1] = "| field | type | |"
      out[#out + 1] = "|---|---|---|"
      for _, fl in ipairs(c.fields) do
        local notes = {}
        if fl.required then notes[#notes + 1] = "*required*" end
        for _, n in ipairs(fl.notes) do notes[#notes + 1] = n end
        local text = table.concat(notes, ", ")
        if fl.doc ~= "" then text = text ~= "" and (text .. ". " .. fl.doc) or fl.doc end
        out[#out + 1] = ("| `%s` | `%s` | %s |"):format(fl.name, md_escape(fl.type), md_escape(text))
      end
      out[#out + 1] = ""
    end
  end

  out[#out + 1] = "## The `firefly` command"
  out[#out + 1] = ""
  out[#out + 1] = "`firefly --help`:"
  out[#out + 1] = ""
  out[#out + 1] = "```"
  local help = capture_cli { "--help" }:gsub("%s+$", "")
  out[#out + 1] = help
  out[#out + 1] = "```"
  out[#out + 1] = ""
  local commands = help:match("\ncommands:\n(.-)\n\n") or ""
  for line in (commands .. "\n"):gmatch("([^\n]*)\n") do
    local name = line:match("^  (%S+)")
    if name then
    out[#out + 1] = "### `firefly " .. name .. "`"
    out[#out + 1] = ""
    out[#out + 1] = "```"
    if name == "emulator" then
      -- `firefly emulator` runs firefly-emulator, whose flags are its own.
      local exe = os.getenv("FIREFLY_EMULATOR") or "build/bin/firefly-emulator"
      local p = assert(io.popen("'" .. exe .. "' --help"))
      out[#out + 1] = (p:read("*a"):gsub("%s+$", ""))
      assert(p:close(), exe .. " --help failed: build first (make fresh does)")
    else
      out[#out + 1] = (capture_cli { name, "--help" }:gsub("%s+$", ""))
    end
    out[#out + 1] = "```"
    out[#out + 1] = ""
    end
  end
  return table.concat(out, "\n")
end

local function write(path, text)
  os.execute("mkdir -p '" .. outdir .. "/" .. path:match("^(.*)/") .. "'")
  local f = assert(io.open(outdir .. "/" .. path, "wb"))
  f:write(text)
  f:close()
  print(outdir .. "/" .. path)
end

local types = types_file()      -- first: it fills the schema classes the manual lists too
write("types/firefly.d.lua", types)
write("docs/reference.md", manual())
