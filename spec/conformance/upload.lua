-- Conformance of the upload (POST /v2/storage/image) against Adobe's
-- upload_image.json, checked with Prism's own validator rather than its proxy:
-- Prism 5's proxy re-encodes a binary request body as UTF-8 before forwarding
-- it (a PNG's 0x89 arrives as two bytes), so the upload cannot go through it.
-- Instead every exchange goes through a recording proxy (helpers/recorder.lua)
-- straight to the emulator, byte for byte, and spec/conformance/validate.js
-- runs @stoplight/prism-http's router, security, request and response
-- validators (the code `prism proxy --errors` runs) over each recorded
-- exchange: method, path, headers, the body's media type and length, and the
-- emulator's status, headers and JSON body.
--
-- Each exchange has an expected verdict, so a violation is never passed over:
--   * PNG, JPEG, WEBP through the client, and bytes that are not the type
--     they claim (400): no diagnostic at all;
--   * no token (401): Prism too refuses the request for its security, and
--     the 401 body is Adobe's ErrorBody;
--   * a wrong content type (415) and over 15 MB (413, text/html, the
--     gateway's): Adobe's document lists neither status, so Prism's only word
--     is that warning (and for 415, that it too refuses the media type);
--   * controls: a recorded 200 with its id removed, and the PNG exchange
--     relabelled text/plain, must each draw an error.

local helper = require "helpers.emulator"
local recorder = require "helpers.recorder"
local firefly = require "firefly"
local openapi = require "firefly.openapi"
local driver = require "conformance.driver"

local M = {}
local HERE = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/conformance")
local json, slurp = helper.json, helper.slurp
local UNLISTED = "^Unable to match the returned status code with those defined in the document"

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Runs validate.js over the exchanges; returns its verdicts or nil, why.
function M.validate(exchanges, document)
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb"))
  f:write(json.encode(exchanges))
  f:close()
  local p = io.popen(("node %s %s %s 2>&1"):format(quote(HERE .. "/validate.js"),
    quote(document or openapi.path("upload_image")), quote(tmp)))
  local out = p:read("*a")
  p:close()
  os.remove(tmp)
  local ok, verdicts = pcall(json.decode, out)
  if not ok or type(verdicts) ~= "table" or #verdicts ~= #exchanges then
    return nil, "validate.js failed: " .. out
  end
  return verdicts
end

local function describe(list)
  local parts = {}
  for _, d in ipairs(list) do
    parts[#parts + 1] = ("%s %s: %s"):format(d.severity, tostring(d.code), d.message)
  end
  return #parts == 0 and "(none)" or table.concat(parts, "; ")
end

-- want.input / want.output: lists of {severity=, code=, message=pattern}, or {} for none.
local function matches(list, want)
  if #list ~= #want then return false end
  local used = {}
  for _, w in ipairs(want) do
    local found = false
    for i, d in ipairs(list) do
      if not used[i] and d.severity == w.severity and (w.code == nil or d.code == w.code)
        and (w.message == nil or tostring(d.message):find(w.message)) then
        used[i], found = true, true
        break
      end
    end
    if not found then return false end
  end
  return true
end

local function exchange_of(r)
  return { method = r.method, path = r.path, headers = r.headers, body = r.body, response = r.response }
end

local function fixture(name) return assert(slurp("spec/fixtures/" .. name), name) end

-- document: the OpenAPI file to judge by (default upload_image.json).
function M.run(document)
  local report = { name = "upload_image", checks = {}, violations = {} }
  local check = function(ok, what, detail)
    report.checks[#report.checks + 1] = { ok = ok and true or false, what = what,
      detail = (not ok) and detail and tostring(detail) or nil }
    return ok
  end
  local emu = helper.start {}
  local rec, why = recorder.start(emu.url)
  if not rec then
    emu:stop()
    report.ok, report.error = false, why
    return report
  end
  local ok, err = pcall(function()
    -- The client's own uploads.
    local ff = firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
      api_url = rec.url, ims_url = emu.url, max_retries = 0, api_hosts = { emu.url:match("^%a+://(.+)$") } }
    local cases = {}
    for _, f in ipairs({ "hero.png", "small.jpg", "small.webp" }) do
      local id, uerr = ff:upload_image("spec/fixtures/" .. f)
      check(id, "client upload " .. f, uerr)
      cases[#cases + 1] = { what = "client upload " .. f, input = {}, output = {} }
    end
    ff:close()
    -- What the client refuses before sending, sent raw (curl) through the recorder.
    local raw = setmetatable({ url = rec.url, base = os.tmpname(), client_id = emu.client_id,
      access_token = emu:token() }, getmetatable(emu))
    local function send(what, headers, body, status, want)
      local r = raw:request("POST", "/v2/storage/image", { headers = headers, body = body })
      check(r.status == status, what .. ": HTTP " .. status, r.status .. " " .. r.body:sub(1, 200))
      want.what = what
      cases[#cases + 1] = want
    end
    local auth = { Authorization = "Bearer " .. raw.access_token, ["x-api-key"] = emu.client_id }
    local function with(t)
      local h = {}
      for k, v in pairs(auth) do h[k] = v end
      for k, v in pairs(t) do h[k] = v end
      return h
    end
    send("wrong content type", with { ["Content-Type"] = "image/gif" }, "GIF89a" .. ("\0"):rep(32), 415,
      { input = { { severity = "error", code = 415 } },
        output = { { severity = "warning", message = UNLISTED } } })
    send("bytes not matching the type", with { ["Content-Type"] = "image/jpeg" }, fixture("hero.png"), 400,
      { input = {}, output = {} })
    local big = fixture("hero.png") .. ("\0"):rep(15 * 1024 * 1024 + 1)
    send("over 15 MB", with { ["Content-Type"] = "image/png" }, big, 413,
      { input = {}, output = { { severity = "warning", message = UNLISTED } } })
    send("no token", { ["Content-Type"] = "image/png", ["x-api-key"] = emu.client_id }, fixture("hero.png"), 401,
      { input = { { severity = "error", code = 401 } }, output = {} })

    local recorded = rec:requests()
    check(#recorded == #cases, "every upload was recorded", #recorded .. " of " .. #cases)
    local exchanges = {}
    for i, r in ipairs(recorded) do exchanges[i] = exchange_of(r) end
    -- Facts the validator takes on trust, checked here: the bytes arrived as sent.
    local p = io.popen("sha256sum spec/fixtures/hero.png")
    local sha = p:read("*a"):match("^(%x+)")
    p:close()
    check(recorded[1] and recorded[1].body_sha256 == sha and recorded[1].body_length == #fixture("hero.png"),
      "the PNG arrived byte for byte", recorded[1] and recorded[1].body_sha256)
    local big_rec = recorded[#recorded - 1]
    check(big_rec and big_rec.body_length == #big and big_rec.headers["content-length"] == tostring(#big),
      "the 15 MB+ body arrived whole", big_rec and big_rec.body_length)
    check(big_rec and (big_rec.response.headers["content-type"] or ""):find("^text/html"),
      "413 is text/html", big_rec and big_rec.response.headers["content-type"])

    -- Controls: deliberate violations the validator must catch.
    local ctl = {}
    if recorded[1] then
      local bad = exchange_of(recorded[1])
      bad.response = { status = 200, headers = bad.response.headers, body = '{"images":[{"uid":"x"}]}' }
      ctl[#ctl + 1] = { ex = bad, what = "control: a 200 without images[0].id",
        input = {}, output = { { severity = "error", code = "required" } } }
      local relabelled = exchange_of(recorded[1])
      local h = {}
      for k, v in pairs(relabelled.headers) do h[k] = v end
      h["content-type"] = "text/plain"
      relabelled.headers = h
      ctl[#ctl + 1] = { ex = relabelled, what = "control: a PNG sent as text/plain",
        input = { { severity = "error", code = 415 } }, output = {} }
    end
    for _, c in ipairs(ctl) do
      exchanges[#exchanges + 1] = c.ex
      cases[#cases + 1] = c
    end

    local verdicts, verr = M.validate(exchanges, document)
    if not check(verdicts, "Prism's validator ran", verr) then return end
    for i, v in ipairs(verdicts) do
      local case = cases[i]
      check(v.routed and v.operation == "storageImageV2", case.what .. ": routed to storageImageV2", json.encode(v))
      check(matches(v.input, case.input), case.what .. ": request verdict",
        "got " .. describe(v.input) .. "; want " .. describe(case.input))
      check(matches(v.output, case.output), case.what .. ": response verdict",
        "got " .. describe(v.output) .. "; want " .. describe(case.output))
      -- Diagnostics nobody expected are violations.
      if not (matches(v.input, case.input) and matches(v.output, case.output)) then
        report.violations[#report.violations + 1] =
          case.what .. ": " .. describe(v.input) .. " / " .. describe(v.output)
      end
    end
    report.verdicts = verdicts
  end)
  if not ok then check(false, "upload check ran to the end", err) end
  rec:stop()
  emu:stop()
  return driver.verdict(report)
end

return M
