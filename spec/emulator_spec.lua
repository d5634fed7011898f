-- test: once (it talks to the emulator over HTTP only: the interpreter under test plays no part)
-- The firefly-emulator, exercised over real sockets through curl.
local helper = require("helpers.emulator")

local exe = os.getenv("FIREFLY_EMULATOR") or "build/bin/firefly-emulator"
local UUID = "%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x"

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return out:gsub("rc=%d+%s*$", ""), rc
end

local function be32(s, i)
  local a, b, c, d = s:byte(i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function submit(emu, body, headers)
  local r = emu:api("POST", "/v3/images/generate-async", { json = body, headers = headers })
  assert.are.equal(202, r.status, r.body)
  return r.json
end

local function status(emu, job_id)
  local r = emu:api("GET", "/v3/status/" .. job_id)
  assert.are.equal(200, r.status, r.body)
  return r.json
end

-- Polls until the job's status is `want` (or a time limit passes).
local function wait_for(emu, job_id, want, limit)
  local deadline = helper.now() + (limit or 10)
  local doc
  repeat
    doc = status(emu, job_id)
    if doc.status == want then return doc end
    helper.sleep(0.05)
  until helper.now() > deadline
  error("job " .. job_id .. " stayed " .. tostring(doc.status) .. ", wanted " .. want)
end

describe("startup", function()
  local emu
  setup(function() emu = helper.start() end)
  teardown(function() emu:stop() end)

  it("prints the base URL alone as the first line of stdout", function()
    assert.matches("^http://127%.0%.0%.1:%d+$", emu.url)
  end)

  it("answers the health check", function()
    assert.are.equal(200, emu:request("GET", "/__emulator/health").status)
  end)

  it("lists every flag and the magic prompt words in --help", function()
    local out, rc = sh(exe .. " --help")
    assert.are.equal(0, rc)
    for _, word in ipairs({ "--port", "--public-url", "--output-url", "--job-seconds", "--token-seconds",
      "--url-seconds", "--seed", "--log", "[emulator:fail]", "[emulator:unsafe]", "[emulator:stuck]" }) do
      assert.truthy(out:find(word, 1, true), word)
    end
  end)

  it("cannot load its behaviour when its validation module fails to load, rather than skip validation", function()
    -- In a Lua 5.4 child, as the emulator embeds it: its http module must raise, not accept every body.
    local script = 'package.preload["firefly.validate"] = function() error("broken validator") end; '
      .. 'local ok, err = pcall(require, "firefly.emulator.http"); print(ok, err)'
    local out = sh(("lua5.4 -e %q"):format(script))
    assert.matches("^false", out)
    assert.matches("broken validator", out, 1, true)
  end)

  it("refuses an unknown flag with a message and a non-zero exit", function()
    local out, rc = sh(exe .. " --no-such-flag 1")
    assert.are_not.equal(0, rc)
    assert.matches("unknown flag %-%-no%-such%-flag", out)
  end)
end)

describe("ims token", function()
  local emu
  setup(function() emu = helper.start{ token_seconds = 120 } end)
  teardown(function() emu:stop() end)

  local function ask(body, query)
    return emu:request("POST", "/ims/token/v3" .. (query or ""), {
      headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }, body = body })
  end
  local good = "grant_type=client_credentials&client_id=emulator-client-id"
    .. "&client_secret=emulator-client-secret&scope=openid,AdobeID,firefly_api,ff_apis"

  it("issues a bearer token that lives --token-seconds", function()
    local r = ask(good)
    assert.are.equal(200, r.status)
    assert.are.equal("bearer", r.json.token_type)
    assert.are.equal(120, r.json.expires_in)
    assert.matches("^[%w%-_]+%.[%w%-_]+%.[%w%-_]+$", r.json.access_token)
  end)

  it("takes the parameters from the query string too", function()
    local r = emu:request("POST", "/ims/token/v3?" .. good)
    assert.are.equal(200, r.status)
  end)

  it("reads a percent-encoded NUL in a query value as data, not as the value's end", function()
    -- Cut at %00, 'emulator-client-secret%00x' would be the right secret.
    local r = emu:request("POST", "/ims/token/v3?" .. (good:gsub("emulator%-client%-secret", "%0%%00x")))
    assert.are.equal(401, r.status)
    assert.are.same({ error = "invalid_client", error_description = "invalid client_secret parameter" }, r.json)
  end)

  it("answers 400 unsupported_grant_type for another grant type", function()
    local r = ask((good:gsub("client_credentials", "authorization_code")))
    assert.are.equal(400, r.status)
    assert.are.equal("unsupported_grant_type", r.json.error)
  end)

  it("answers 400 invalid_client for an unknown client id", function()
    local r = ask((good:gsub("client_id=emulator%-client%-id", "client_id=someone-else")))
    assert.are.equal(400, r.status)
    assert.are.same({ error = "invalid_client", error_description = "invalid client_id parameter" }, r.json)
  end)

  it("answers 401 invalid_client for a wrong secret", function()
    local r = ask((good:gsub("emulator%-client%-secret", "wrong")))
    assert.are.equal(401, r.status)
    assert.are.same({ error = "invalid_client", error_description = "invalid client_secret parameter" }, r.json)
  end)
end)

describe("gateway", function()
  local emu
  setup(function() emu = helper.start{ token_seconds = 1 } end)
  teardown(function() emu:stop() end)
  local path = "/v3/status/urn:ff:jobs:emu851000:00000000-0000-4000-8000-000000000000"

  it("answers 403000 when x-api-key is missing", function()
    local r = emu:request("GET", path, { headers = { Authorization = "Bearer " .. emu:token() } })
    assert.are.equal(403, r.status)
    assert.are.same({ error_code = "403000", message = "Api Key is required" }, r.json)
  end)

  it("answers 403003 when x-api-key is not the client id", function()
    local r = emu:request("GET", path,
      { headers = { ["x-api-key"] = "nope", Authorization = "Bearer " .. emu:token() } })
    assert.are.equal(403, r.status)
    assert.are.same({ error_code = "403003", message = "Api Key is invalid" }, r.json)
  end)

  it("answers 401013 when the bearer token is missing", function()
    local r = emu:request("GET", path, { headers = { ["x-api-key"] = emu.client_id } })
    assert.are.equal(401, r.status)
    assert.are.same({ error_code = "401013", message = "Oauth token is not valid" }, r.json)
  end)

  it("answers 401013 for a token it never issued", function()
    local r = emu:request("GET", path, { headers = { ["x-api-key"] = emu.client_id, Authorization = "Bearer forged" } })
    assert.are.equal(401, r.status)
    assert.are.equal("401013", r.json.error_code)
  end)

  it("answers 401013 for a revoked token", function()
    local token = emu:token()
    local headers = { ["x-api-key"] = emu.client_id, Authorization = "Bearer " .. token }
    assert.are.equal(404, emu:request("GET", path, { headers = headers }).status)
    emu:revoke_tokens()
    local r = emu:request("GET", path, { headers = headers })
    assert.are.equal(401, r.status)
    assert.are.equal("401013", r.json.error_code)
  end)

  it("answers 401013 for an expired token", function()
    local headers = { ["x-api-key"] = emu.client_id, Authorization = "Bearer " .. emu:token() }
    helper.sleep(1.1)
    local r = emu:request("GET", path, { headers = headers })
    assert.are.equal(401, r.status)
    assert.are.equal("401013", r.json.error_code)
  end)

  it("guards unknown /v3 paths as well", function()
    assert.are.equal(403, emu:request("GET", "/v3/nothing-here").status)
  end)

  it("echoes x-request-id, or makes up a uuid", function()
    local r = emu:request("GET", path, { headers = { ["x-request-id"] = "req-42" } })
    assert.are.equal("req-42", r.headers["x-request-id"])
    r = emu:request("GET", path)
    assert.matches("^" .. UUID .. "$", r.headers["x-request-id"])
  end)
end)

describe("generate-async", function()
  local emu
  setup(function()
    emu = helper.start{ job_seconds = 0.5, extra = { ["public-url"] = "http://firefly.example:1234" } }
  end)
  teardown(function() emu:stop() end)

  it("answers 202 with a job URN, statusUrl, cancelUrl and a Link header", function()
    local r = emu:api("POST", "/v3/images/generate-async", { json = { prompt = "a lighthouse" } })
    assert.are.equal(202, r.status)
    assert.matches("^application/json", r.headers["content-type"])
    local id = r.json.jobId
    assert.matches("^urn:ff:jobs:[%w]+:" .. UUID .. "$", id)
    assert.are.equal("http://firefly.example:1234/v3/status/" .. id, r.json.statusUrl)
    assert.are.equal("http://firefly.example:1234/v3/cancel/" .. id, r.json.cancelUrl)
    assert.are.equal('<' .. r.json.statusUrl .. '>; rel="result", <' .. r.json.cancelUrl .. '>; rel="cancel"',
      r.headers["link"])
  end)

  it("answers 415 invalid_content_type for multipart/form-data", function()
    local r = emu:api("POST", "/v3/images/generate-async", {
      headers = { ["Content-Type"] = "multipart/form-data; boundary=x" },
      body = "--x\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n{}\r\n--x--\r\n" })
    assert.are.equal(415, r.status)
    assert.are.equal("invalid_content_type", r.json.error_code)
  end)

  it("answers 415 invalid_content_type for text/plain", function()
    local r = emu:api("POST", "/v3/images/generate-async", {
      headers = { ["Content-Type"] = "text/plain" }, body = '{"prompt":"x"}' })
    assert.are.equal(415, r.status)
  end)

  it("answers 400 empty_input_body for an empty body", function()
    local r = emu:api("POST", "/v3/images/generate-async", {
      headers = { ["Content-Type"] = "application/json" }, body = "" })
    assert.are.equal(400, r.status)
    assert.are.same({ error_code = "empty_input_body" }, r.json)
  end)

  it("answers 400 bad_request for malformed JSON", function()
    local r = emu:api("POST", "/v3/images/generate-async", {
      headers = { ["Content-Type"] = "application/json" }, body = '{"prompt": ' })
    assert.are.equal(400, r.status)
    assert.are.equal("bad_request", r.json.error_code)
    assert.is_string(r.json.message)
  end)

  it("answers 400 bad_request for JSON whose text is not UTF-8", function()
    for _, text in ipairs { "caf\233", "\237\160\128", "\192\175", "\244\144\128\128", "cut \226\130" } do
      local r = emu:api("POST", "/v3/images/generate-async", {
        headers = { ["Content-Type"] = "application/json" }, body = '{"prompt": "' .. text .. '"}' })
      assert.are.equal(400, r.status)
      assert.are.equal("bad_request", r.json.error_code)
    end
  end)

  it("answers 400 bad_request for JSON that is not an object", function()
    local r = emu:api("POST", "/v3/images/generate-async", {
      headers = { ["Content-Type"] = "application/json; charset=utf-8" }, body = '["a cat"]' })
    assert.are.equal(400, r.status)
    assert.are.equal("bad_request", r.json.error_code)
  end)

  it("answers 422 validation_error with pydantic-style errors", function()
    local r = emu:api("POST", "/v3/images/generate-async", { json = { prompt = "x", numVariations = 10 } })
    assert.are.equal(422, r.status)
    assert.are.equal("validation_error", r.json.error_code)
    assert.are.same({ "body", "numVariations" }, r.json.validation_errors[1].loc)
    assert.is_string(r.json.validation_errors[1].msg)
    assert.is_string(r.json.validation_errors[1].type)
  end)
end)

describe("job timeline", function()
  local emu
  setup(function() emu = helper.start{ job_seconds = 1 } end)
  teardown(function() emu:stop() end)

  it("starts pending", function()
    local slow = helper.start{ job_seconds = 20 }
    local job = submit(slow, { prompt = "a slow boat" })
    local doc = status(slow, job.jobId)
    slow:stop()
    assert.are.same({ jobId = job.jobId, status = "pending" }, doc)
  end)

  it("runs with an integer progress that rises and stays below 100", function()
    local job = submit(emu, { prompt = "a fox" })
    local first = wait_for(emu, job.jobId, "running")
    helper.sleep(0.3)
    local later = status(emu, job.jobId)
    if later.status == "running" then
      assert.is_true(later.progress > first.progress)
      assert.is_true(later.progress < 100)
    end
    assert.are.equal(math.floor(first.progress), first.progress)
    assert.is_true(first.progress < 100)
  end)

  it("succeeds with the result Adobe's generate returns", function()
    local job = submit(emu, { prompt = "two owls", seeds = { 11, 22 }, size = { width = 64, height = 48 },
      contentClass = "art" })
    local doc = wait_for(emu, job.jobId, "succeeded")
    assert.are.equal(job.jobId, doc.jobId)
    assert.is_nil(doc.progress)
    local res = doc.result
    assert.are.same({ width = 64, height = 48 }, res.size)
    assert.are.equal(2, #res.outputs)
    assert.are.equal(11, res.outputs[1].seed)
    assert.are.equal(22, res.outputs[2].seed)
    assert.matches("^" .. emu.url .. "/outputs/", res.outputs[1].image.url)
    assert.are.equal("art", res.contentClass)
    assert.are.equal(false, res.promptHasDeniedWords)
    assert.are.equal(false, res.promptHasBlockedArtists)
  end)

  it("defaults to one 2048x2048 photo with a fresh seed", function()
    local job = submit(emu, { prompt = "a cup" })
    local res = wait_for(emu, job.jobId, "succeeded").result
    assert.are.same({ width = 2048, height = 2048 }, res.size)
    assert.are.equal(1, #res.outputs)
    assert.is_number(res.outputs[1].seed)
    assert.are.equal("photo", res.contentClass)
  end)

  it("makes numVariations outputs with distinct fresh seeds", function()
    local job = submit(emu, { prompt = "a pear", numVariations = 3, size = { width = 8, height = 8 } })
    local res = wait_for(emu, job.jobId, "succeeded").result
    assert.are.equal(3, #res.outputs)
    assert.are_not.equal(res.outputs[1].seed, res.outputs[2].seed)
  end)

  it("answers for the bare uuid as for the URN", function()
    local job = submit(emu, { prompt = "a kite" })
    local doc = status(emu, job.jobId:match("([^:]+)$"))
    assert.are.equal(job.jobId, doc.jobId)
  end)

  it("answers 404 unknown_job_id for a job it never made", function()
    local r = emu:api("GET", "/v3/status/urn:ff:jobs:emu851000:00000000-0000-4000-8000-000000000000")
    assert.are.equal(404, r.status)
    assert.are.same({ error_code = "unknown_job_id", message = "The job id is unknown." }, r.json)
  end)

  it("reads a percent-encoded NUL in a path as part of the job id, not as the path's end", function()
    local job = submit(emu, { prompt = "a nut", size = { width = 8, height = 8 } })
    local r = emu:api("GET", "/v3/status/" .. job.jobId .. "%00x")
    assert.are.equal(404, r.status) -- cut at %00, it would be this job's status
    assert.are.equal("unknown_job_id", r.json.error_code)
  end)

  it("fails with runtime_error when the prompt says [emulator:fail]", function()
    local job = submit(emu, { prompt = "a bridge [emulator:fail]" })
    local doc = wait_for(emu, job.jobId, "failed")
    assert.are.equal("runtime_error", doc.error_code)
    assert.is_string(doc.message)
    assert.is_nil(doc.result)
  end)

  it("fails with prompt_unsafe when the prompt says [emulator:unsafe]", function()
    local job = submit(emu, { prompt = "[emulator:unsafe] something" })
    assert.are.equal("prompt_unsafe", wait_for(emu, job.jobId, "failed").error_code)
  end)

  it("ends with status timeout, not failed, when the prompt says [emulator:timeout]", function()
    local job = submit(emu, { prompt = "a clock [emulator:timeout]" })
    local doc = wait_for(emu, job.jobId, "timeout")
    assert.are.equal("timeout_error", doc.error_code)
    assert.is_nil(doc.result)
  end)

  it("stays running at 50% when the prompt says [emulator:stuck]", function()
    local job = submit(emu, { prompt = "[emulator:stuck]" })
    helper.sleep(1.2)
    local doc = status(emu, job.jobId)
    assert.are.equal("running", doc.status)
    assert.are.equal(50, doc.progress)
  end)
end)

describe("cancel", function()
  local emu
  setup(function() emu = helper.start{ job_seconds = 2 } end)
  teardown(function() emu:stop() end)

  it("answers 200 {} and the job goes cancel_pending, then cancelled as JobResponse spells it", function()
    local job = submit(emu, { prompt = "a tower" })
    local r = emu:api("PUT", job.cancelUrl)
    assert.are.equal(200, r.status)
    assert.are.equal("{}", r.body)
    local first = status(emu, job.jobId).status -- cancel_pending, unless a slow machine missed it
    assert.is_truthy(first == "cancel_pending" or first == "cancelled", first)
    local doc = wait_for(emu, job.jobId, "cancelled", 3)
    assert.are.same({ jobId = job.jobId, status = "cancelled", error_code = "job_cancelled" }, doc)
  end)

  it("answers 410 job_timeout for a timed-out job, as the document declares", function()
    local quick = helper.start{ job_seconds = 0.1 }
    local job = submit(quick, { prompt = "[emulator:timeout] a clock" })
    wait_for(quick, job.jobId, "timeout")
    local r = quick:api("PUT", job.cancelUrl)
    quick:stop()
    assert.are.equal(410, r.status)
    assert.are.equal("job_timeout", r.json.error_code)
  end)

  it("answers 409 job_already_canceled for a canceled job", function()
    local job = submit(emu, { prompt = "a road" })
    assert.are.equal(200, emu:api("PUT", job.cancelUrl).status)
    local r = emu:api("PUT", job.cancelUrl)
    assert.are.equal(409, r.status)
    assert.are.same({ error_code = "job_already_canceled", message = "The job was already canceled." }, r.json)
  end)

  it("answers 409 job_completed for a finished job", function()
    local quick = helper.start{ job_seconds = 0.1 }
    local job = submit(quick, { prompt = "a leaf" })
    wait_for(quick, job.jobId, "succeeded")
    local r = quick:api("PUT", "/v3/cancel/" .. job.jobId)
    quick:stop()
    assert.are.equal(409, r.status)
    assert.are.same({ error_code = "job_completed", message = "The job was already completed." }, r.json)
  end)

  it("answers 409 job_completed for a failed job", function()
    local quick = helper.start{ job_seconds = 0.1 }
    local job = submit(quick, { prompt = "[emulator:fail]" })
    wait_for(quick, job.jobId, "failed")
    local r = quick:api("PUT", "/v3/cancel/" .. job.jobId)
    quick:stop()
    assert.are.equal(409, r.status)
    assert.are.equal("job_completed", r.json.error_code)
  end)

  it("answers 404 unknown_job_id for a job it never made", function()
    local r = emu:api("PUT", "/v3/cancel/00000000-0000-4000-8000-000000000000")
    assert.are.equal(404, r.status)
    assert.are.equal("unknown_job_id", r.json.error_code)
  end)
end)

describe("outputs", function()
  local emu
  -- URLs live 3 s: long enough for a loaded machine to fetch one once its job ends.
  setup(function() emu = helper.start{ job_seconds = 0.1, extra = { "--url-seconds", "3" } } end)
  teardown(function() emu:stop() end)

  local function finished(body)
    local job = submit(emu, body)
    return wait_for(emu, job.jobId, "succeeded").result
  end

  it("serves a PNG of the requested size without credentials", function()
    local res = finished({ prompt = "a map", size = { width = 300, height = 200 }, seeds = { 5 } })
    local r = emu:request("GET", res.outputs[1].image.url)
    assert.are.equal(200, r.status)
    assert.are.equal("image/png", r.headers["content-type"])
    assert.are.equal(#r.body, tonumber(r.headers["content-length"]))
    assert.are.equal("\137PNG\r\n\26\n", r.body:sub(1, 8))
    assert.are.equal(300, be32(r.body, 17))
    assert.are.equal(200, be32(r.body, 21))
  end)

  it("gives byte-identical pictures for the same seed and different ones for another", function()
    -- Each picture is fetched as soon as its job ends: this block's URLs
    -- expire after 3 s, and a slow (sanitized) run must not meet that.
    local function picture(body)
      local res = finished(body)
      return res.outputs[1].image.url, emu:request("GET", res.outputs[1].image.url).body
    end
    local url_a, pa = picture({ prompt = "x", seeds = { 77 }, size = { width = 64, height = 64 } })
    local url_b, pb = picture({ prompt = "y", seeds = { 77 }, size = { width = 64, height = 64 } })
    local _, pc = picture({ prompt = "z", seeds = { 78 }, size = { width = 64, height = 64 } })
    assert.are.equal("\137PNG\r\n\26\n", pa:sub(1, 8))
    assert.are_not.equal(url_a, url_b)
    assert.are.equal(pa, pb)
    assert.are_not.equal(pa, pc)
  end)

  it("puts S3-style X-Amz-Expires, X-Amz-Date and X-Amz-Signature in the URL", function()
    local url = finished({ prompt = "q", size = { width = 8, height = 8 } }).outputs[1].image.url
    assert.matches("X%-Amz%-Expires=3[&]", url)
    assert.matches("X%-Amz%-Date=%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ", url)
    assert.matches("X%-Amz%-Signature=%x+", url)
  end)

  it("answers 403 with S3's XML for a tampered signature", function()
    local url = finished({ prompt = "q", size = { width = 8, height = 8 } }).outputs[1].image.url
    local r = emu:request("GET", (url:gsub("X%-Amz%-Signature=%x", "X-Amz-Signature=g")))
    assert.are.equal(403, r.status)
    assert.matches("^application/xml", r.headers["content-type"])
    assert.matches("<Error><Code>", r.body)
  end)

  it("answers 403 AccessDenied, Request has expired, after --url-seconds", function()
    local url = finished({ prompt = "q", size = { width = 8, height = 8 } }).outputs[1].image.url
    assert.are.equal(200, emu:request("GET", url).status)
    helper.sleep(3.1)
    local r = emu:request("GET", url)
    assert.are.equal(403, r.status)
    assert.matches("^application/xml", r.headers["content-type"])
    assert.matches("<Code>AccessDenied</Code><Message>Request has expired</Message>", r.body)
  end)

  it("logs whether credentials were sent for an output", function()
    local url = finished({ prompt = "q", size = { width = 8, height = 8 } }).outputs[1].image.url
    local path = url:match("^https?://[^/]+([^?]+)")
    emu:request("GET", url)
    emu:request("GET", url, { headers = { Authorization = "Bearer leaked" } })
    local seen = {}
    for _, e in ipairs(emu:log()) do
      if e.path == path then seen[#seen + 1] = e.auth_header end
    end
    assert.are.same({ false, true }, seen)
  end)
end)

describe("--output-url", function()
  local emu
  setup(function()
    emu = helper.start{ job_seconds = 0.1,
      extra = { ["public-url"] = "http://proxy.example:4010", ["output-url"] = "http://cdn.example:9/" } }
  end)
  teardown(function() emu:stop() end)

  it("puts its base into output URLs only; statusUrl and cancelUrl keep --public-url", function()
    local job = submit(emu, { prompt = "a kite", size = { width = 8, height = 8 } })
    assert.matches("^http://proxy%.example:4010/v3/status/", job.statusUrl)
    assert.matches("^http://proxy%.example:4010/v3/cancel/", job.cancelUrl)
    local url = wait_for(emu, job.jobId, "succeeded").result.outputs[1].image.url
    assert.matches("^http://cdn%.example:9/outputs/[%w%-]+%.png%?X%-Amz%-", url)
    -- The signature covers the path, not the host: the same URL on the emulator serves the picture.
    local r = emu:request("GET", emu.url .. url:match("^https?://[^/]+(/.*)$"))
    assert.are.equal(200, r.status)
  end)
end)

describe("expiry", function()
  local emu
  setup(function()
    emu = helper.start { job_seconds = 0.1, extra = { ["url-seconds"] = 2, ["upload-seconds"] = 2 } }
  end)
  teardown(function() emu:stop() end)

  local function health() return emu:request("GET", "/__emulator/health").json end

  it("forgets jobs, outputs and uploads once their URLs expire, so memory stays bounded", function()
    local jobs = {}
    for i = 1, 5 do jobs[i] = submit(emu, { prompt = "a moth " .. i, size = { width = 8, height = 8 } }) end
    local url = wait_for(emu, jobs[5].jobId, "succeeded").result.outputs[1].image.url
    local up = emu:api("POST", "/v2/storage/image", { headers = { ["Content-Type"] = "image/png" },
      body = helper.slurp("spec/fixtures/hero.png") })
    assert.are.equal(200, up.status)
    -- Some may be gone already on a slow machine; the last ones are not.
    local before = health()
    assert.is_true(before.jobs >= 1 and before.outputs >= 1 and before.uploads == 1)
    helper.sleep(3.5)
    health() -- this request sweeps; the next one sees the result
    local after = health()
    assert.are.same({ 0, 0, 0 }, { after.jobs, after.outputs, after.uploads })
    assert.are.equal(404, emu:api("GET", "/v3/status/" .. jobs[1].jobId).status)
    -- An output URL still says why it stopped working, as S3 does.
    local r = emu:request("GET", url)
    assert.are.equal(403, r.status)
    assert.matches("Request has expired", r.body, 1, true)
  end)
end)

describe("--upload-bytes", function()
  it("keeps at most that many bytes of uploaded PNGs, however many upload ids live", function()
    local hero = helper.slurp("spec/fixtures/hero.png")
    local emu = helper.start { extra = { ["upload-bytes"] = 2 * #hero } }
    for _ = 1, 5 do
      local r = emu:api("POST", "/v2/storage/image", { headers = { ["Content-Type"] = "image/png" }, body = hero })
      assert.are.equal(200, r.status)
    end
    local h = emu:request("GET", "/__emulator/health").json
    emu:stop()
    assert.are.equal(5, h.uploads)
    assert.are.equal(2 * #hero, h.upload_bytes)
  end)
end)

describe("routing", function()
  local emu
  setup(function() emu = helper.start() end)
  teardown(function() emu:stop() end)

  it("answers 404 not_found for an unknown path", function()
    local r = emu:request("GET", "/nowhere")
    assert.are.equal(404, r.status)
    assert.are.equal("not_found", r.json.error_code)
  end)

  it("answers 405 with Allow for a wrong method on a known path", function()
    local r = emu:api("GET", "/v3/images/generate-async")
    assert.are.equal(405, r.status)
    assert.are.equal("POST", r.headers["allow"])
  end)
end)

describe("request log", function()
  local emu
  setup(function() emu = helper.start{ job_seconds = 5 } end)
  teardown(function() emu:stop() end)

  it("writes one JSON line per request, with the job id when there is one", function()
    local job = submit(emu, { prompt = "a log" }, { ["x-request-id"] = "log-1" })
    status(emu, job.jobId)
    local log = emu:log()
    local last = log[#log]
    assert.are.equal("GET", last.method)
    assert.are.equal("/v3/status/" .. job.jobId, last.path)
    assert.are.equal(200, last.status)
    assert.are.equal(job.jobId, last.job_id)
    assert.is_number(last.time)
    assert.is_string(last.request_id)
    assert.are.equal(1, emu:count("POST", "^/v3/images/generate%-async$"))
    assert.are.equal("log-1", log[#log - 1].request_id)
  end)

  it("never writes a secret, a token or a key", function()
    local text = helper.slurp(emu.logfile)
    assert.is_nil(text:find(emu.client_secret, 1, true))
    assert.is_nil(text:find(emu.access_token, 1, true))
    assert.is_nil(text:find(emu.client_id, 1, true))
  end)
end)

describe("--seed", function()
  it("makes job ids and seeds repeat from run to run", function()
    local function first_job()
      local e = helper.start{ extra = { seed = 7, ["job-seconds"] = 0 } }
      local job = submit(e, { prompt = "same" })
      local doc = status(e, job.jobId)
      e:stop()
      return job.jobId, doc.result.outputs[1].seed
    end
    local id1, seed1 = first_job()
    local id2, seed2 = first_job()
    assert.are.equal(id1, id2)
    assert.are.equal(seed1, seed2)
  end)
end)
