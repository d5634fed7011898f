-- The operation registry (lua/firefly/operations.lua): every path of Adobe's
-- current document written once, and the client, validator and CLI reading it
-- rather than spelling paths of their own.
local cjson = require "cjson"
local operations = require "firefly.operations"
local validate = require "firefly.validate"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local document = cjson.decode(read("lua/firefly/openapi/firefly-api.json"))

describe("the operation registry", function()
  it("lists every path and method of Adobe's current document, and no other", function()
    local want, got = {}, {}
    for path, item in pairs(document.paths) do
      for http in pairs(item) do
        if http ~= "parameters" then want[#want + 1] = http:upper() .. " " .. path end
      end
    end
    for _, op in ipairs(operations.list) do
      if not op.deprecated then got[#got + 1] = op.http .. " " .. op.path end
    end
    table.sort(want)
    table.sort(got)
    assert.are.same(want, got)
    assert.are.equal(14, #operations.paths())
  end)

  it("names a document path for every entry, deprecated sync paths included", function()
    local openapi = require "firefly.openapi"
    for _, op in ipairs(operations.list) do
      local item = openapi[op.document].paths[op.path]
      assert.is_table(item, op.name)
      assert.is_table(item[op.http:lower()], op.name)
    end
  end)

  it("routes generate_images to /v4 only for the model versions Image 5 declares", function()
    assert.are.equal("/v3/images/generate-async", operations.for_method("generate_images").path)
    assert.are.equal("/v3/images/generate-async", operations.for_method("generate_images", "image4_ultra").path)
    local v5 = operations.for_method("generate_images", "image5")
    assert.are.equal("/v4/images/generate-async", v5.path)
    assert.are.same(v5.selects_on, validate.operation(v5.name).model_versions)
  end)

  it("finds the entry and path parameters for a request line, as the emulator's router needs", function()
    local op, args = operations.find("GET", "/v3/status/urn:job:1")
    assert.are.equal("job_status", op.name)
    assert.are.same({ "urn:job:1" }, args)
    assert.are.equal("upscale_image", operations.find("post", "/v3/images/upscale").name)
    assert.is_nil(operations.find("GET", "/v3/images/upscale"))
    assert.is_nil(operations.find("POST", "/v3/images/upscale/x"))
  end)

  it("gives every client method its own line in init.lua, a call into the shared submit path", function()
    local source = read("lua/firefly/init.lua")
    local firefly = require "firefly"
    local ff = firefly.new { access_token = "t", client_id = "k", api_url = "http://127.0.0.1:9" }
    for _, op in ipairs(operations.list) do
      if op.method and op.body == "json" then
        assert.truthy(source:find("function Client:" .. op.method .. "(body, opts) return self:_submit(\""
          .. op.method .. "\", body, opts) end", 1, true), op.method)
        assert.is_function(ff[op.method], op.method)
      end
    end
    ff:close()
  end)

  it("is what the validator judges a body by: the request schema of the entry's path", function()
    for _, name in ipairs(validate.operations()) do
      local entry, op = operations.get(name), validate.operation(name)
      assert.are.equal(entry.path, op.path)
      local ref = document.paths[entry.path].post.requestBody.content["application/json"].schema["$ref"]
      assert.are.equal(ref:match("[^/]+$"), op.schema_name)
    end
  end)

  it("gives the CLI its commands and the paths its help shows", function()
    local cli = require "firefly.cli"
    local out = {}
    local sink = { write = function(_, ...) for _, s in ipairs { ... } do out[#out + 1] = s end end }
    assert.are.equal(0, cli.main({ "--help" }, { out = sink, err = sink }))
    local text = table.concat(out)
    for _, path in ipairs(operations.paths()) do
      assert.truthy(text:find(path, 1, true), path)
    end
    for _, op in ipairs(operations.list) do
      if op.cli then assert.truthy(text:find("\n  " .. op.cli .. " ", 1, true), op.cli) end
    end
  end)
end)
