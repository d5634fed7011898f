-- x-request-id: the client sends a fresh uuid4 on every API request (Adobe's
-- custom-models document requires the header; it lets users match their logs
-- with Adobe support's), and keeps it as `request_id` when the server echoes none.
local helper = require("helpers.emulator")
local recorder = require("helpers.recorder")
local firefly = require("firefly")

local UUID4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

describe("x-request-id", function()
  local emu
  setup(function() emu = helper.start { job_seconds = 0.2 } end)
  teardown(function() emu:stop() end)

  local function client(url)
    return firefly.new { client_id = emu.client_id, client_secret = emu.client_secret,
      api_url = url, ims_url = emu.url, poll_interval = 0.1,
      -- statusUrl names the emulator's own port, not the recorder's: another origin.
      api_hosts = { emu.url:match("^%a+://(.+)$") } }
  end

  it("is a fresh uuid4 on every API request, and the emulator logs the client's", function()
    local rec, why = recorder.start(emu.url)
    if not rec then return pending(why) end
    finally(function() rec:stop() end)
    local ff = client(rec.url)
    local res = assert(ff:generate_images({ prompt = "a kite", size = { width = 16, height = 16 } }))
    local page = assert(ff:list_custom_models())
    ff:close()
    -- Polls go straight to the emulator (its statusUrl), so its log is the
    -- full list; the recorder shows the header as the client sent it.
    local seen, n = {}, 0
    for _, e in ipairs(emu:log()) do
      if e.path:find("^/v3/") then
        assert.is_truthy(e.request_id:match(UUID4), e.request_id)
        assert.is_nil(seen[e.request_id], "request id reused: " .. e.request_id)
        seen[e.request_id], n = true, n + 1
      end
    end
    assert.is_true(n >= 3, n .. " requests") -- submit, at least one poll, the listing
    local recorded = rec:requests()
    assert.is_true(#recorded >= 2)
    for _, r in ipairs(recorded) do
      local id = r.headers["x-request-id"]
      assert.is_true(seen[id], r.method .. " " .. r.path .. ": " .. tostring(id))
      assert.are.equal(id, r.response.headers["x-request-id"])
    end
    assert.is_true(seen[res.request_id], tostring(res.request_id))
    assert.is_true(seen[page.request_id], tostring(page.request_id))
  end)

  it("is kept as request_id when the server echoes none", function()
    local rec, why = recorder.start(emu.url, { strip = { "x-request-id" } })
    if not rec then return pending(why) end
    finally(function() rec:stop() end)
    local ff = client(rec.url)
    local page = assert(ff:list_custom_models())
    local res, err = ff:job("urn:ff:jobs:emu851000:00000000-0000-4000-8000-000000000000")
    ff:close()
    assert.is_nil(res)
    assert.are.equal(404, err.status)
    local sent = {}
    for _, r in ipairs(rec:requests()) do
      assert.is_nil(r.response.headers["x-request-id"])
      sent[r.headers["x-request-id"]] = true
    end
    assert.is_truthy(page.request_id and page.request_id:match(UUID4))
    assert.is_true(sent[page.request_id])
    assert.is_truthy(err.request_id and err.request_id:match(UUID4))
    assert.is_true(sent[err.request_id])
  end)
end)
