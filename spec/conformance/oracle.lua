-- The differential judge of request validation. firefly/validate.lua is one judge
-- (the client refuses with it before sending, the emulator answers 422 with it), so a
-- bug in it, too strict or too lax, could never show in a test that asks it alone.
-- The second judge is Ajv (spec/conformance/judge.js, JSON Schema 2020-12 over
-- Adobe's current document) and shares no code with it. For each case
-- {op, opts, json} both give a verdict, and they agree when:
--   * both accept;
--   * the client refuses what Ajv accepts only with errors of a rule Adobe states in
--     prose (spec/conformance/prose_rules.lua, the one list of them);
--   * both refuse, and every schema error of each sits where the other sees one (the
--     same field, a field inside it, or the object around it: a union's branches
--     report at different depths).
-- Anything else is a disagreement, described for a person.

local cjson = require "cjson"
local validate = require "firefly.validate"
local openapi = require "firefly.openapi"
local prose_rules = require "conformance.prose_rules"

local M = {}

local HERE = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/conformance")
local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- The document Ajv judges by: Adobe's current one, as the project carries it.
function M.document()
  return os.getenv("FIREFLY_ORACLE_DOCUMENT") or openapi.path("firefly_api")
end

function M.path_of(op)
  return validate.operation(op).path
end

-- The deprecated sync paths are only in the npm document (FFApiOpenApi3.json): they
-- are judged by it; every other path by the current document.
function M.document_of(op)
  local entry = validate.operation(op).entry
  if entry and entry.deprecated then return openapi.path(entry.document) end
  return M.document()
end

-- The operations judged: the client's, and the deprecated sync ones the emulator serves.
function M.operations()
  local names = validate.operations()
  for _, entry in ipairs(require("firefly.operations").list) do
    if entry.deprecated and entry.body == "json" then names[#names + 1] = entry.name end
  end
  return names
end

local function dotted(loc)
  local parts = {}
  for i, k in ipairs(loc or {}) do parts[i] = tostring(k) end
  return table.concat(parts, ".")
end

function M.prose_rule(err)
  local at = dotted(err.loc)
  for _, r in ipairs(prose_rules) do
    if err.type == r.type and at:find(r.at) and (r.msg == nil or tostring(err.msg):find(r.msg)) then return r end
  end
  return nil
end

-- The client's verdict on the body as the emulator would see it (cjson-decoded).
function M.ours(case)
  local body = case.json ~= nil and cjson.decode(case.json) or nil
  return validate.request(case.op, body, case.opts) or {}
end

local function judge(cases, document)
  local list = {}
  for i, c in ipairs(cases) do
    list[i] = { path = M.path_of(c.op), method = "post", body = c.json,
      headers = (c.opts and c.opts.model_version) and { ["x-model-version"] = c.opts.model_version } or nil }
  end
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb"))
  f:write(cjson.encode(list))
  f:close()
  local p = io.popen(("node %s %s %s 2>&1"):format(quote(HERE .. "/judge.js"), quote(document), quote(tmp)))
  local out = p:read("*a")
  p:close()
  os.remove(tmp)
  local ok, verdicts = pcall(cjson.decode, out)
  if not ok or type(verdicts) ~= "table" or #verdicts ~= #cases then
    error("judge.js failed: " .. out:sub(1, 2000))
  end
  return verdicts
end

-- Ajv's verdicts on every case, in order: one node process per document.
function M.ajv(cases, document)
  local groups, order = {}, {}
  for i, c in ipairs(cases) do
    local doc = document or M.document_of(c.op)
    if not groups[doc] then groups[doc] = { cases = {}, at = {} }; order[#order + 1] = doc end
    local g = groups[doc]
    g.cases[#g.cases + 1], g.at[#g.at + 1] = c, i
  end
  local verdicts = {}
  for _, doc in ipairs(order) do
    local g = groups[doc]
    for j, v in ipairs(judge(g.cases, doc)) do verdicts[g.at[j]] = v end
  end
  return verdicts
end

local function near(a, b)
  if a == b then return true end
  return a:sub(1, #b + 1) == b .. "." or b:sub(1, #a + 1) == a .. "."
end

local function ajv_text(v)
  local parts = {}
  for _, e in ipairs(v.errors) do parts[#parts + 1] = e.at .. " " .. e.keyword .. " (" .. e.message .. ")" end
  return table.concat(parts, "; ")
end

-- nil when the two verdicts agree, else why they do not.
function M.compare(ours, ajv)
  local schema_errors, prose = {}, 0
  for _, e in ipairs(ours) do
    if M.prose_rule(e) then prose = prose + 1 else schema_errors[#schema_errors + 1] = e end
  end
  if ajv.ok then
    if #schema_errors == 0 then return nil end
    return "the client refuses what Ajv accepts: " .. validate.message(schema_errors, 5)
  end
  if #ours == 0 then return "the client accepts what Ajv refuses: " .. ajv_text(ajv) end
  if #schema_errors == 0 then
    return "the client refuses only by a prose rule; Ajv's schema errors it misses: " .. ajv_text(ajv)
  end
  for _, e in ipairs(schema_errors) do
    local at, found = dotted(e.loc), false
    for _, a in ipairs(ajv.errors) do
      if near(at, a.at) then found = true break end
    end
    if not found then
      return ("the client refuses at %s (%s) where Ajv sees nothing wrong; Ajv: %s"):format(at, e.msg, ajv_text(ajv))
    end
  end
  for _, a in ipairs(ajv.errors) do
    local found = false
    for _, e in ipairs(schema_errors) do
      if near(dotted(e.loc), a.at) then found = true break end
    end
    if not found then
      return ("Ajv refuses at %s (%s) where the client sees nothing wrong; the client: %s")
        :format(a.at, a.message, validate.message(ours, 5))
    end
  end
  return nil
end

-- Judges every case (its `ours` is the client's verdict when already known); returns
-- {cases, accepted, refused, prose_only, disagreements = {{case, why}}}.
function M.run(cases, document)
  local verdicts = M.ajv(cases, document)
  local out = { cases = #cases, accepted = 0, refused = 0, prose_only = 0, disagreements = {} }
  for i, c in ipairs(cases) do
    local ours = c.ours or M.ours(c)
    if #ours == 0 then out.accepted = out.accepted + 1 else out.refused = out.refused + 1 end
    if verdicts[i].ok and #ours > 0 then out.prose_only = out.prose_only + 1 end
    local why = M.compare(ours, verdicts[i])
    if why then out.disagreements[#out.disagreements + 1] = { case = c, why = why } end
  end
  return out
end

function M.format(result, limit)
  local lines = { ("%d bodies judged (%d accepted, %d refused by the client, %d of them by a prose rule alone); "
    .. "%d disagreement(s)")
    :format(result.cases, result.accepted, result.refused, result.prose_only, #result.disagreements) }
  for i, d in ipairs(result.disagreements) do
    if i > (limit or 40) then lines[#lines + 1] = ("... and %d more"):format(#result.disagreements - i + 1) break end
    local c = d.case
    lines[#lines + 1] = ("* %s%s [%s]: %s\n    %s"):format(c.op,
      (c.opts and c.opts.model_version) and (" (" .. c.opts.model_version .. ")") or "", c.what or "?", d.why,
      #c.json > 300 and c.json:sub(1, 300) .. "..." or c.json)
  end
  return table.concat(lines, "\n")
end

return M
