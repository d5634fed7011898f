-- A second judge for request validation. firefly.validate is the client's check before
-- sending and the emulator's 422, so no test that asks it alone can show it too strict
-- or too lax. Here Ajv (spec/conformance/judge.js: JSON Schema 2020-12, the dialect of
-- OpenAPI 3.1, none of our code) judges every body of a generated corpus against
-- Adobe's current document, and every verdict must agree with the client's
-- (spec/conformance/oracle.lua says what agreeing means; prose_rules.lua lists the
-- rules only Adobe's prose states, the one allowed difference).

local cjson = require "cjson"
local validate = require "firefly.validate"
local schema = require "firefly.schema"
local oracle = require "conformance.oracle"
local corpus = require "conformance.corpus"
local prose_rules = require "conformance.prose_rules"

local function have(cmd)
  local p = io.popen("command -v " .. cmd .. " 2>/dev/null")
  local out = p:read("*a")
  p:close()
  return out:match("%S") ~= nil
end

local function read_json(path)
  local f = assert(io.open(path, "rb"))
  local doc = cjson.decode(f:read("*a"))
  f:close()
  return doc
end

-- The operation's request schema and declared x-model-version values in the document.
local function schema_of(doc, op)
  -- (the document that judges `op`: Adobe's current one, or the npm one for a sync path)
  local post = assert(doc.paths[oracle.path_of(op)], op .. ": path not in the document").post
  local versions
  for _, p in ipairs(post.parameters or {}) do
    if p["in"] == "header" and p.name:lower() == "x-model-version" then versions = p.schema.enum end
  end
  return post.requestBody.content["application/json"].schema, versions
end

describe("the client's validator and Ajv over Adobe's current document", function()
  if not have("node") then
    pending("node not found: install Node.js to run the second judge")
    return
  end
  assert(io.open("spec/conformance/node_modules/ajv/package.json"),
    "Ajv is missing: run `make deps` (npm ci --prefix spec/conformance)"):close()
  local docs = {}
  local function doc_of(op)
    local path = oracle.document_of(op)
    docs[path] = docs[path] or read_json(path)
    return docs[path]
  end

  local function corpus_of(ops)
    local cases, per_op = {}, {}
    for _, op in ipairs(ops) do
      local doc = doc_of(op)
      local node, versions = schema_of(doc, op)
      local list = corpus.cases(op, doc, node, versions)
      per_op[op] = #list
      for _, c in ipairs(list) do cases[#cases + 1] = c end
    end
    return cases, per_op
  end

  it("have valid bases for every operation, which both accept", function()
    for _, op in ipairs(oracle.operations()) do
      assert(corpus.BASES[op], "no base bodies for " .. op .. " in spec/conformance/corpus.lua")
      local cases = {}
      for i, b in ipairs(corpus.BASES[op]) do
        cases[i] = { op = op, opts = b.opts, json = corpus.encode(b.body), what = "base " .. i }
      end
      local verdicts = oracle.ajv(cases)
      for i, c in ipairs(cases) do
        assert(verdicts[i].ok, op .. " " .. c.what .. ": Ajv refuses it: " .. cjson.encode(verdicts[i].errors))
        local ours = oracle.ours(c)
        assert(#ours == 0, op .. " " .. c.what .. ": the client refuses it: " .. validate.message(ours, 5))
      end
    end
  end)

  it("agree on every body of the corpus: every operation (the sync ones by the npm document), "
    .. "each edge of its schema", function()
    local cases, per_op = corpus_of(oracle.operations())
    for op, n in pairs(per_op) do assert(n >= 100, op .. ": only " .. n .. " cases") end
    local result = oracle.run(cases)
    print("\n" .. oracle.format(result, 0)) -- the figures, for the CI log
    assert(result.accepted >= 100 and result.refused >= 1000, oracle.format(result))
    assert(#result.disagreements == 0, oracle.format(result))
  end)

  it("list every rule beyond the schema, each witnessed: Ajv accepts the body, that rule alone refuses it", function()
    local cases = {}
    for i, r in ipairs(prose_rules) do
      cases[i] = { op = r.witness.op, opts = r.witness.opts, json = corpus.encode(r.witness.body), what = r.rule }
    end
    local verdicts = oracle.ajv(cases)
    for i, c in ipairs(cases) do
      assert(verdicts[i].ok, c.what .. ": Ajv refuses its witness: " .. cjson.encode(verdicts[i].errors))
      local ours = oracle.ours(c)
      assert(#ours > 0, c.what .. ": the client accepts its witness")
      for _, e in ipairs(ours) do
        assert.are.equal(prose_rules[i], oracle.prose_rule(e), c.what .. ": " .. validate.describe(e))
      end
    end
  end)

  it("catch a validator made too lax (prompt up to 2000 characters)", function()
    local op = validate.operation("generate_images")
    local prompt = op.request.properties.prompt
    local saved = prompt.maxLength
    prompt.maxLength = 2000
    schema.forget(op.document) -- documents are read only: an edited one is read anew
    local ok, result = pcall(oracle.run, (corpus_of { "generate_images" }))
    prompt.maxLength = saved
    schema.forget(op.document)
    assert(ok, result)
    assert(#result.disagreements > 0, "no disagreement found")
    for _, d in ipairs(result.disagreements) do
      assert.truthy(d.why:find("^the client accepts what Ajv refuses: body%.prompt maxLength"))
    end
  end)

  it("catch a validator made too strict (contentClass photo only)", function()
    local doc = validate.operation("generate_images").document
    local node = doc.components.schemas.ContentClassV3
    local saved = node.enum
    node.enum = { "photo" }
    schema.forget(doc)
    local ok, result = pcall(oracle.run, (corpus_of { "generate_images" }))
    node.enum = saved
    schema.forget(doc)
    assert(ok, result)
    assert(#result.disagreements > 0, "no disagreement found")
    for _, d in ipairs(result.disagreements) do
      assert.truthy(d.why:find("body.contentClass", 1, true), d.why)
    end
  end)
end)
