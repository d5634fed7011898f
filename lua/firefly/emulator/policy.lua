-- Content policy and content credentials, steered by the caller: words in a
-- prompt and marks in an input answer as Adobe's checks would, so a client's
-- handling of 451 (ContentPolicyErrorResponse) and of 422
-- cai_assertion_violation_error can be tested offline.
--
-- An input is marked by the text "[emulator:unsafe]" or "[emulator:cai]"
-- anywhere in its bytes (an upload: say, after a PNG's IEND), or by
-- "emulator-unsafe" or "emulator-cai" in its source URL [GUESS: how Adobe
-- decides is its own].
local errors = require "firefly.emulator.errors"

local policy = {}

-- Prompt words that refuse a request with 451, on the paths that declare it.
policy.PROMPT_WORDS = {
  { word = "[emulator:unsafe]", code = "prompt_unsafe", message = "The prompt was flagged as unsafe." },
  { word = "[emulator:entity]", code = "prompt_entity_denied",
    message = "The prompt names an entity that may not be generated." },
  { word = "[emulator:legal]", code = "legal_error", message = "The request was refused for legal reasons." },
}

policy.UNSAFE_MARK = "[emulator:unsafe]"
policy.CAI_MARK = "[emulator:cai]"

-- The marks found in an input's bytes: { unsafe = true, cai = true }.
function policy.marks(bytes)
  return { unsafe = bytes:find(policy.UNSAFE_MARK, 1, true) ~= nil,
    cai = bytes:find(policy.CAI_MARK, 1, true) ~= nil }
end

local function url_marks(url)
  return { unsafe = url:find("emulator-unsafe", 1, true) ~= nil, cai = url:find("emulator-cai", 1, true) ~= nil }
end

function policy.refusal(code, message)
  return errors.json(451, { error_code = code, message = message })
end

-- 451 when the prompt carries one of PROMPT_WORDS, else nil.
function policy.check_prompt(prompt)
  if type(prompt) ~= "string" then return nil end
  for _, w in ipairs(policy.PROMPT_WORDS) do
    if prompt:find(w.word, 1, true) then return policy.refusal(w.code, w.message) end
  end
  return nil
end

-- Every `source` ({uploadId} or {url}) in a body, with its loc.
local function each_source(v, loc, out)
  if type(v) ~= "table" then return out end
  if type(v.source) == "table" then
    local l = { table.unpack(loc) }
    l[#l + 1] = "source"
    out[#out + 1] = { source = v.source, loc = l }
  end
  local keys = {}
  for k in pairs(v) do if k ~= "source" then keys[#keys + 1] = k end end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local l = { table.unpack(loc) }
    l[#l + 1] = type(k) == "number" and k - 1 or k
    each_source(v[k], l, out)
  end
  return out
end
policy.each_source = each_source

-- The marks of a source: an upload's (found when it was stored) or its URL's.
local function source_marks(app, source)
  if type(source.uploadId) == "string" then
    local rec = app.uploads[source.uploadId]
    return rec and rec.marks or {}
  elseif type(source.url) == "string" then
    return url_marks(source.url)
  end
  return {}
end

-- 451 `unsafe_code` for a marked-unsafe input (nil: the path declares no
-- 451, and the input passes), 422 cai_assertion_violation_error for an input
-- marked as failing its content-credential checks; else nil.
function policy.check_inputs(app, body, unsafe_code)
  for _, s in ipairs(each_source(body, { "body" }, {})) do
    local marks = source_marks(app, s.source)
    if marks.unsafe and unsafe_code then
      return policy.refusal(unsafe_code, "An input image was flagged as unsafe.")
    end
    if marks.cai then
      return errors.firefly(422, "cai_assertion_violation_error",
        "An input failed its content credential (C2PA) assertion checks.",
        { validation_errors = { { loc = s.loc, type = "value_error.cai_assertion",
          msg = "the content credentials of this input do not pass Adobe's assertion checks" } } })
    end
  end
  return nil
end

return policy
