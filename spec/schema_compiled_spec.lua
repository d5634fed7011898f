-- The compiled check (schema.accepts) against the interpreter (schema.validate). The client
-- asks the compiled one first and walks a body with the interpreter only when it is refused,
-- so the two must agree on every value: accepted exactly when the interpreter finds no
-- error, and then with the same visits (component name, value, loc, in the same order),
-- which the prose rules and the unknown-field warnings of firefly/validate.lua read.

local cjson = require "cjson"
local schema = require "firefly.schema"
local validate = require "firefly.validate"
local openapi = require "firefly.openapi"
local corpus = require "conformance.corpus"
local oracle = require "conformance.oracle"

local null = schema.null
local NaN, inf = 0 / 0, math.huge

local function same_value(a, b)
  return a == b or (a ~= a and b ~= b) -- NaN is itself
end

local function show(v)
  local ok, text = pcall(cjson.encode, v)
  return ok and text or tostring(v)
end

-- Nil when the two agree, else what differs.
local function disagreement(doc, node, value)
  local errors, visits = schema.validate(doc, node, value, { "body" })
  local got = schema.accepts(doc, node, value, { "body" })
  if #errors > 0 then
    if got then return "compiled accepts what the interpreter refuses: " .. validate.describe(errors[1]) end
    return nil
  end
  if not got then return "compiled refuses what the interpreter accepts" end
  if #got ~= #visits then return ("%d visits, the interpreter's %d"):format(#got, #visits) end
  for i, v in ipairs(visits) do
    local g = got[i]
    if g.name ~= v.name or not same_value(g.value, v.value) or g.ok ~= v.ok
       or table.concat(g.loc, ".", 1, #g.loc) ~= table.concat(v.loc, ".", 1, #v.loc) or #g.loc ~= #v.loc then
      return ("visit %d: %s at %s, the interpreter's %s at %s"):format(i, tostring(g.name),
        table.concat(g.loc, "."), tostring(v.name), table.concat(v.loc, "."))
    end
  end
  return nil
end

local function assert_agree(doc, node, value, what)
  local why = disagreement(doc, node, value)
  assert(why == nil, ("%s: %s; value %s"):format(what or "", tostring(why), show(value)))
end

-- A small document with every keyword the interpreter reads, nested and named.
local DOC = {
  components = { schemas = {
    Color = { type = "string", enum = { "red", "green" } },
    Level = { enum = { 1, 2.5, true, "x" } },
    Pair = { enum = { { 1, 2 }, { a = "b" } } },
    Loose = { enum = { "a", null } },
    Point = { type = "object", required = { "x" }, properties = {
      x = { type = "integer", minimum = 0, maximum = 10 }, y = { type = "number", exclusiveMinimum = 0 },
      tag = { ["$ref"] = "#/components/schemas/Color" } } },
    Tree = { type = "object", properties = {
      name = { type = "string", minLength = 1, maxLength = 3 },
      kids = { type = "array", items = { ["$ref"] = "#/components/schemas/Tree" } } } },
    Grid = { type = "array", maxItems = 3, items = { type = "array", minItems = 1, uniqueItems = true,
      items = { ["$ref"] = "#/components/schemas/Point" } } },
    Old = { type = "number", minimum = 1, exclusiveMinimum = true, maximum = 5, exclusiveMaximum = false },
    Link = { type = "string", format = "uri" },
    Id = { type = "string", format = "uuid4" },
    AnyId = { type = "string", format = "uuid" },
    Either = { anyOf = { { ["$ref"] = "#/components/schemas/Point" }, { ["$ref"] = "#/components/schemas/Color" },
      { type = "null" } } },
    -- A branch that names a component and then refuses: its visit must go with it.
    Short = { anyOf = { { allOf = { { ["$ref"] = "#/components/schemas/Color" }, { maxLength = 3 } } },
      { type = "string" } } },
    One = { oneOf = { { type = "integer", maximum = 3 }, { type = "string", maxLength = 2 } } },
    Both = { allOf = { { ["$ref"] = "#/components/schemas/Point" }, { required = { "y" } } } },
    Maybe = { type = { "string", "null" }, maxLength = 2 },
    Shapeless = { items = { type = "integer" }, properties = { a = { type = "string" } }, required = { "a" } },
    Anything = {},
    OddType = { type = "uint8" },
    Unique = { type = "array", uniqueItems = true },
    Body = { type = "object", required = { "point" }, properties = {
      point = { ["$ref"] = "#/components/schemas/Point" },
      tree = { ["$ref"] = "#/components/schemas/Tree" },
      grid = { ["$ref"] = "#/components/schemas/Grid" },
      either = { ["$ref"] = "#/components/schemas/Either" },
      both = { ["$ref"] = "#/components/schemas/Both" },
      level = { ["$ref"] = "#/components/schemas/Level" },
      pair = { ["$ref"] = "#/components/schemas/Pair" },
      maybe = { ["$ref"] = "#/components/schemas/Maybe" } } },
  } },
}

-- Values that try each keyword's edges; every component is judged on every one of them.
local VALUES = {
  null, true, false, 0, -0.0, 1, 2, 2.5, 3, 10, 11, -1, NaN, inf, -inf, 1e308, 2 ^ 53 + 2, 1e-300,
  "", "r", "red", "green", "blue", "x", "abcd", "\195\169\195\169", "\195\169\195\169\195\169\195\169",
  "https://a.test/p?q#f", "https://", "mailto:x", "no scheme", "https://a b", "http://[::1]:8/x",
  "510aabb4-e154-4a7b-bd2e-f492ee71c938", "510aabb4-e154-1a7b-bd2e-f492ee71c938",
  "urn:uuid:510AABB4-E154-4A7B-BD2E-F492EE71C938", "510aabb4e1544a7bbd2ef492ee71c938",
  {}, { 1, 2 }, { 1, 1 }, { 1, nil, 3 }, { a = "b" }, { a = 1 }, { [1] = "x", a = "y" }, { [1.5] = 1 },
  { x = 1 }, { x = 0, y = 0 }, { x = 10, y = 1e-9, tag = "red" }, { x = 11 }, { x = 2.5 }, { x = NaN },
  { x = 1, tag = "blue" }, { x = 1, unknown = { deep = true } }, { y = 1 }, { x = null }, { x = 1, y = null },
  { name = "ab", kids = { { name = "c" }, { name = "d", kids = { { name = "" } } } } },
  { name = "ab", kids = { { name = "c", kids = {} }, { kids = { { name = "toolong" } } } } },
  { kids = { { kids = { { kids = { { kids = {} } } } } } } },
  { { { x = 1 } }, { { x = 1 }, { x = 2 } } }, { { { x = 1 }, { x = 1 } } }, { {} }, { { 1 } },
  { { { x = 1 } }, { { x = 1 } }, { { x = 1 } }, { { x = 1 } } },
  { { 1, 2 }, { 1, 2 } }, { { a = { 1 } }, { a = { 1 } } }, { "a", 1, { "a" } },
  -- Fields an __index gives count, as the interpreter reads them.
  setmetatable({ x = 1 }, { __index = { tag = "blue" } }), setmetatable({ x = 1 }, { __index = { y = -1 } }),
  setmetatable({}, { __index = { x = 1 } }),
  setmetatable({ name = "ab" }, { __index = { kids = { { name = "toolong" } } } }),
}

-- Bodies for the Body component: the values above under each field, and a few whole ones.
local function bodies()
  local out = {
    { point = { x = 1 } },
    { point = { x = 1 }, tree = { name = "a", kids = { { name = "b" } } }, grid = { { { x = 1 } } },
      either = "red", both = { x = 1, y = 2 }, level = 2.5, pair = { 1, 2 }, maybe = "ab" },
    { point = { x = 1 }, either = null, both = { x = 1 }, level = 2.50, pair = { a = "b", c = 1 } },
    { point = { x = 1 }, either = { x = 1, tag = "green" }, grid = {}, maybe = null },
    { point = { x = 1 }, either = { x = 100 }, unknown = 1 },
    {},
  }
  for _, field in ipairs { "point", "tree", "grid", "either", "both", "level", "pair", "maybe" } do
    for _, v in ipairs(VALUES) do out[#out + 1] = { point = { x = 1 }, [field] = v } end
  end
  return out
end

describe("the compiled schema check", function()
  it("agrees with the interpreter on every component of a document made of every keyword", function()
    for name in pairs(DOC.components.schemas) do
      local node = { ["$ref"] = "#/components/schemas/" .. name }
      for _, v in ipairs(VALUES) do assert_agree(DOC, node, v, name) end
    end
  end)

  it("agrees with the interpreter on bodies nesting refs, arrays of arrays, unions and enums", function()
    local node = { ["$ref"] = "#/components/schemas/Body" }
    local accepted, refused = 0, 0
    for _, b in ipairs(bodies()) do
      assert_agree(DOC, node, b, "Body")
      if #schema.validate(DOC, node, b) == 0 then accepted = accepted + 1 else refused = refused + 1 end
    end
    -- Both verdicts are reached, or the agreement above proves little.
    assert.is_true(accepted > 10 and refused > 10, ("%d accepted, %d refused"):format(accepted, refused))
  end)

  it("records a union's visits from the branch that accepted only", function()
    local visits = schema.accepts(DOC, { ["$ref"] = "#/components/schemas/Either" }, "red", { "body" })
    local names = {}
    for i, v in ipairs(visits) do names[i] = v.name end
    assert.are.same({ "Color", "Either" }, names)
  end)

  it("reads an edited document anew once told it changed", function()
    local doc = { components = { schemas = { S = { type = "string" } } } }
    local a = { ["$ref"] = "#/components/schemas/S" }
    assert.is_table(schema.accepts(doc, a, "x"))
    doc.components.schemas.S.type = "integer"
    schema.forget(doc)
    assert.is_nil(schema.accepts(doc, a, "x"))
    assert.is_table(schema.accepts(doc, a, 3))
  end)

  it("agrees with the interpreter on every corpus body of every operation in Adobe's documents", function()
    local n = 0
    for _, op in ipairs(oracle.operations()) do
      local o = validate.operation(op)
      for _, c in ipairs(corpus.cases(op, o.document, o.request, o.model_versions)) do
        local body = c.json ~= nil and cjson.decode(c.json) or nil
        if body ~= nil then
          assert_agree(o.document, o.body, body, op .. " " .. c.what)
          n = n + 1
        end
      end
    end
    assert.is_true(n > 1000, n .. " bodies")
  end)

  it("agrees with the interpreter on every component of Adobe's documents, given any of the values", function()
    for _, name in ipairs { "firefly_api", "ff_api_open_api3" } do
      local doc = openapi[name]
      for component in pairs(doc.components.schemas) do
        local node = { ["$ref"] = "#/components/schemas/" .. component }
        for _, v in ipairs(VALUES) do assert_agree(doc, node, v, name .. " " .. component) end
      end
    end
  end)
end)
