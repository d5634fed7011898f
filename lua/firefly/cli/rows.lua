-- The rows of a batch file: a CSV with a header row (Adobe's body fields as
-- columns, nested ones dotted: `size.width`, `style.presets`) or JSON Lines
-- (one body per line). Both may add `operation` (default generate_images),
-- `model_version` and `name`. Each row comes back as
-- {line, operation, model_version, name, body}, or as {line, problems} when
-- it cannot be read; validation is batch/plan.lua's job.

local cjson = require("cjson").new()
local fs = require "firefly.fs"
local operations = require "firefly.operations"
local schema = require "firefly.schema"
local validate = require "firefly.validate"

local rows = {}

-- The columns that are not body fields.
local EXTRA = { operation = true, model_version = true, name = true }

-- Splits CSV text into records, each {line = first line, fields = {...}}.
-- RFC 4180: quoted fields may hold commas, doubled quotes and newlines.
local function csv_records(text)
  local records, fields, field, line = {}, {}, {}, 1
  local start, i, n, quoted = 1, 1, #text, false
  local function push_field()
    fields[#fields + 1] = table.concat(field)
    field = {}
  end
  local function push_record()
    push_field()
    if not (#fields == 1 and fields[1] == "") then
      records[#records + 1] = { line = start, fields = fields }
    end
    fields = {}
  end
  while i <= n do
    local c = text:sub(i, i)
    if quoted then
      if c == '"' then
        if text:sub(i + 1, i + 1) == '"' then
          field[#field + 1] = '"'
          i = i + 1
        else
          quoted = false
        end
      else
        if c == "\n" then line = line + 1 end
        field[#field + 1] = c
      end
    elseif c == '"' and #field == 0 then
      quoted = true
    elseif c == "," then
      push_field()
    elseif c == "\n" then
      push_record()
      line = line + 1
      start = line
    elseif not (c == "\r" and text:sub(i + 1, i + 1) == "\n") then -- CRLF: the \n ends the record
      field[#field + 1] = c
    end
    i = i + 1
  end
  if quoted then return nil, ("line %d: a quoted field is never closed"):format(start) end
  if #field > 0 or #fields > 0 then push_record() end
  return records
end

-- The schema node a dotted path names inside an operation's request, or nil.
local function node_at(doc, node, keys)
  for _, key in ipairs(keys) do
    local function find(n, depth)
      if depth > 8 or type(n) ~= "table" then return nil end
      if n["$ref"] then return find(schema.resolve(doc, n["$ref"]), depth + 1) end
      if n.properties and n.properties[key] then return n.properties[key] end
      for _, list in ipairs { n.allOf or {}, n.anyOf or {}, n.oneOf or {} } do
        for _, sub in ipairs(list) do
          local hit = find(sub, depth + 1)
          if hit then return hit end
        end
      end
      if n.items and tonumber(key) then return n.items end
    end
    node = find(node, 0)
    if not node then return nil end
  end
  return node
end

-- The types a schema node allows, through refs and unions: {integer = true, ...}.
local function kinds(doc, node, out, depth)
  out, depth = out or {}, depth or 0
  if type(node) ~= "table" or depth > 8 then return out end
  if node["$ref"] then kinds(doc, schema.resolve(doc, node["$ref"]), out, depth + 1) end
  if node.type then out[node.type] = true end
  if node.properties then out.object = true end
  for _, list in ipairs { node.allOf or {}, node.anyOf or {}, node.oneOf or {} } do
    for _, sub in ipairs(list) do kinds(doc, sub, out, depth + 1) end
  end
  out.node = out.node or node
  return out
end

-- An image input written as a plain string: a URL, an upload id, or a local
-- file (relative to the batch file's folder).
local function image_ref(s, base)
  if s:match("^https?://") then return { source = { url = s } } end
  if s:match("^%x+%-%x+%-%x+%-%x+%-%x+$") then return { source = { uploadId = s } } end
  if base and not s:match("^/") then s = base .. "/" .. s end
  return { source = { path = s } }
end

-- A CSV cell as the value its schema field wants; anything it cannot turn
-- into that type is left a string, so validation names the field.
local function coerce(doc, node, text, base)
  local k = kinds(doc, node)
  if k.array then
    local items = node_at(doc, node, { "1" })
    local list = {}
    for part in (text .. "|"):gmatch("(.-)|") do
      part = part:match("^%s*(.-)%s*$")
      if part ~= "" then list[#list + 1] = items and coerce(doc, items, part, base) or part end
    end
    return setmetatable(list, cjson.array_mt)
  end
  if (k.integer or k.number) and tonumber(text) then return tonumber(text) end
  if k.boolean and (text == "true" or text == "false") then return text == "true" end
  if k.object and node_at(doc, node, { "source" }) then return image_ref(text, base) end
  return text
end

-- Sets body[a][b][c] = value for the path "a.b.c".
local function put(body, keys, value)
  local t = body
  for i = 1, #keys - 1 do
    local k = keys[i]
    k = tonumber(k) or k
    if type(t[k]) ~= "table" then t[k] = {} end
    t = t[k]
  end
  local last = keys[#keys]
  t[tonumber(last) or last] = value
end

local function split_dots(name)
  local keys = {}
  for part in name:gmatch("[^.]+") do keys[#keys + 1] = part end
  return keys
end

-- The client methods a row may name: those taking Adobe's JSON body (operations.lua).
local function methods()
  local list, seen = {}, {}
  for _, op in ipairs(operations.list) do
    if op.method and op.body == "json" and not op.deprecated and not seen[op.method] then
      seen[op.method] = true
      list[#list + 1] = op.method
    end
  end
  table.sort(list)
  return list
end

local function known_operation(method)
  for _, name in ipairs(methods()) do
    if name == method then return true end
  end
  return false
end

local function operation_problem(op)
  return { field = "operation", message = ("unknown operation '%s' (one of %s)")
    :format(op, table.concat(methods(), ", ")) }
end

-- The registry entry a row goes to (its method and model version), with its schema.
local function schema_of(row)
  local entry = operations.for_method(row.operation, row.model_version)
  return validate.operation(entry.name), entry
end
rows.schema_of = schema_of

-- Strings in JSON Lines bodies that stand for images get the same reading as CSV cells.
local function images_in(doc, node, v, base)
  if type(v) ~= "table" or type(node) ~= "table" then return v end
  for key, x in pairs(v) do
    local sub = node_at(doc, node, { tostring(key) })
    if sub then
      if type(x) == "string" and kinds(doc, sub).object and node_at(doc, sub, { "source" }) then
        v[key] = image_ref(x, base)
      elseif type(x) == "table" then
        if type(x.source) == "table" and type(x.source.path) == "string" and base and not x.source.path:match("^/") then
          x.source.path = base .. "/" .. x.source.path
        else
          images_in(doc, sub, x, base)
        end
      end
    end
  end
  return v
end

local function csv_rows(text, base)
  local records, err = csv_records(text)
  if not records then return nil, err end
  local header = table.remove(records, 1)
  if not header then return nil, "the file is empty (a CSV needs a header row)" end
  local columns, seen = {}, {}
  for i, name in ipairs(header.fields) do
    name = name:match("^%s*(.-)%s*$")
    if i == 1 then name = name:gsub("^\239\187\191", "") end -- a spreadsheet's byte-order mark
    if name == "" then return nil, ("line %d: column %d has no name"):format(header.line, i) end
    if seen[name] then return nil, ("line %d: column '%s' appears twice"):format(header.line, name) end
    seen[name] = true
    columns[i] = name
  end
  local out = {}
  for _, rec in ipairs(records) do
    local row = { line = rec.line, body = {}, problems = {} }
    if #rec.fields > #columns then
      row.problems[#row.problems + 1] = { field = "(row)", message = ("%d cells for %d columns")
        :format(#rec.fields, #columns) }
    end
    local cells = {}
    for i, name in ipairs(columns) do cells[name] = rec.fields[i] end
    row.operation = (cells.operation ~= nil and cells.operation ~= "") and cells.operation or "generate_images"
    row.model_version = cells.model_version ~= "" and cells.model_version or nil
    row.name = cells.name ~= "" and cells.name or nil
    if not known_operation(row.operation) then
      row.problems[#row.problems + 1] = operation_problem(row.operation)
    else
      local op = schema_of(row)
      for _, name in ipairs(columns) do
        local cell = cells[name]
        if not EXTRA[name] and cell ~= nil and cell ~= "" then
          local keys = split_dots(name)
          local node = node_at(op.document, op.request, keys)
          put(row.body, keys, node and coerce(op.document, node, cell, base) or cell)
        end
      end
    end
    out[#out + 1] = row
  end
  return out
end

local function jsonl_rows(text, base)
  local out, line = {}, 0
  for l in (text .. "\n"):gmatch("(.-)\r?\n") do
    line = line + 1
    if l:match("%S") then
      local row = { line = line, problems = {} }
      local ok, v = pcall(cjson.decode, l)
      if not ok or type(v) ~= "table" or next(v) == 1 then
        row.problems[1] = { field = "(line)", message = "not a JSON object: " .. tostring(ok and l:sub(1, 40) or v) }
        row.body = {}
      else
        row.operation = v.operation or "generate_images"
        row.model_version, row.name = v.model_version, v.name
        v.operation, v.model_version, v.name = nil, nil, nil
        for _, k in ipairs { "operation", "model_version", "name" } do
          if row[k] ~= nil and type(row[k]) ~= "string" then
            row.problems[#row.problems + 1] = { field = k, message = "must be a string" }
            row[k] = k == "operation" and "generate_images" or nil
          end
        end
        if not known_operation(row.operation) then
          row.problems[#row.problems + 1] = operation_problem(row.operation)
        else
          local op = schema_of(row)
          images_in(op.document, op.request, v, base)
        end
        row.body = v
      end
      out[#out + 1] = row
    end
  end
  return out
end

-- Reads a batch file: the rows, or nil and why the file as a whole cannot be read.
-- A regular file, or "-" for standard input, said so explicitly: a FIFO or a
-- device given as FILE would block the open, or never end.
function rows.read(path)
  local text, base
  if path == "-" then
    text = io.stdin:read("*a")
    if not text then return nil, "standard input: cannot be read" end
  else
    local why = fs.unreadable(path)
    if why then return nil, why end
    local f, err = io.open(path, "rb")
    if not f then return nil, err end
    text = f:read("*a")
    f:close()
    if not text then return nil, path .. ": cannot be read" end
    base = path:match("^(.*)/[^/]*$")
  end
  local list, err
  if path:lower():match("%.jsonl$") or path:lower():match("%.ndjson$") or text:match("^%s*{") then
    list, err = jsonl_rows(text, base)
  else
    list, err = csv_rows(text, base)
  end
  if not list then return nil, path .. ": " .. err end
  return list
end

rows.csv_records = csv_records

return rows
