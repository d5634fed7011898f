-- One job model for every shape Firefly answers (API-NOTES §10.4): the
-- accept shapes ({jobId, statusUrl, cancelUrl}; {links = {result, cancel}}),
-- the result shapes (images, upscale, video), and JobResponse's statuses,
-- all ending in the same job (id, status, progress, :wait, :cancel) and the
-- same outputs (url, :save, :bytes) with Adobe's own fields kept.
local helper = require "helpers.emulator"
local recorder = require "helpers.recorder"

describe("cancelling a job", function()
  local emu, ff
  setup(function() emu, ff = helper.serve({ job_seconds = 30 }, { poll_interval = 0.1 }) end)
  teardown(function() helper.close(emu, ff) end)

  it("sends a bodyless PUT without a form content type", function()
    local j = assert(ff:generate_images({ prompt = "a lighthouse" }, { wait = false }))
    while not j.id do ff:step(0.05) end
    local rec = assert(recorder.start(emu.url))
    local via = emu:client { api_url = rec.url, poll_interval = 0.1 }
    local again = assert(via:job(j.id, { wait = false }))
    again:cancel()
    local _, err = again:wait(10)
    via:close()
    local cancels = {}
    for _, r in ipairs(rec:requests()) do
      if r.method == "PUT" then cancels[#cancels + 1] = r end
    end
    rec:stop()
    assert.are.equal("canceled", err.kind)
    assert.are.equal(1, #cancels)
    assert.are.equal(0, cancels[1].body_length)
    assert.is_nil(cancels[1].headers["content-type"])
    j:cancel()
    j:wait(10)
  end)

  it("reports the job as canceled, one spelling whichever Firefly sent", function()
    local j = assert(ff:generate_images({ prompt = "a harbour" }, { wait = false }))
    while not j.id do ff:step(0.05) end
    local before = emu:count("PUT", "^/v3/cancel/")
    assert.is_true(j:cancel())
    local r, err = j:wait(10)
    assert.is_nil(r)
    assert.are.equal("canceled", err.kind)
    assert.are.equal("canceled", j.status)
    assert.are.equal(before + 1, emu:count("PUT", "^/v3/cancel/"))
  end)

  it("goes through cancel_pending, a status that does not end the job, before it ends canceled", function()
    local seen = {}
    local j = assert(ff:generate_images({ prompt = "a pier" }, { wait = false,
      on_progress = function(job) seen[#seen + 1] = job.status end }))
    while not j.id do ff:step(0.05) end
    j:cancel()
    local _, err = j:wait(20)
    assert.are.equal("canceled", err.kind)
    assert.are.equal("job_cancelled", err.code) -- Adobe's error_code on a cancelled job, kept
    local text = table.concat(seen, " ")
    assert.truthy(text:find("cancel_pending", 1, true), text)
    assert.is_nil(text:find("cancelled", 1, true))
    assert.are.equal("canceled", j.status)
  end)
end)

describe("a job that ends with an error", function()
  local SUBMIT = "POST /v3/images/generate-async"
  local emu, ff
  setup(function()
    emu = helper.start { job_seconds = 0.3,
                         extra = { ["faults-script"] = SUBMIT .. "=500,reset_after_accept,ok" } }
    ff = emu:client { poll_interval = 0.1, poll_max = 0.3 }
  end)
  teardown(function() helper.close(emu, ff) end)

  it("is failed, not submitting, when its submit was refused or its answer lost", function()
    local refused = assert(ff:generate_images({ prompt = "a cat" }, { wait = false }))
    local _, err = refused:wait(10)
    assert.are.equal("http", err.kind)
    assert.is_true(refused.finished)
    assert.are.equal("failed", refused.status)
    local lost = assert(ff:generate_images({ prompt = "a cat" }, { wait = false }))
    _, err = lost:wait(10)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("failed", lost.status)
    local ok = assert(ff:generate_images({ prompt = "a cat" }, { wait = false }))
    assert(ok:wait(10))
    assert.are.equal("succeeded", ok.status)
  end)

  it("is canceled when it is cancelled before the service accepted it", function()
    local j = assert(ff:generate_images({ prompt = "a dog" }, { wait = false }))
    j:cancel()
    local _, err = j:wait(10)
    assert.are.equal("canceled", err.kind)
    assert.are.equal("canceled", j.status)
  end)
end)
