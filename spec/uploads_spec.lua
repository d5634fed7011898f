-- upload_image of hostile local files (issue 8): the type of file and its size
-- are looked at before a byte is read (a FIFO would block forever, /dev/zero
-- never ends, a huge file would fill memory), and an image needs a real
-- header behind its signature (PNG IHDR, JPEG start of frame, WEBP frame);
-- nothing is sent for any of them. Sniffing lives in lua/firefly/media.lua.
local helper = require "helpers.emulator"
local media = require "firefly.media"

describe("upload_image", function()
  local emu, ff, dir

  setup(function() emu, ff = helper.serve({ job_seconds = 0.1 }, {}) end)
  teardown(function() helper.close(emu, ff) end)
  before_each(function() dir = helper.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  local function uploads() return emu:count("POST", "^/v2/storage/image$") end

  local function refused(what, needle)
    local before = uploads()
    local id, err = ff:upload_image(what)
    assert.is_nil(id)
    assert.are.equal("validation", err.kind, tostring(err))
    assert.truthy(tostring(err):find(needle, 1, true), tostring(err))
    assert.are.equal(before, uploads(), "an upload was sent")
  end

  local function write(name, bytes)
    local f = assert(io.open(dir .. "/" .. name, "wb"))
    f:write(bytes)
    f:close()
    return dir .. "/" .. name
  end

  it("refuses a FIFO without opening it (opening one blocks until a writer comes)", function()
    assert(os.execute("mkfifo '" .. dir .. "/pipe.png'"))
    -- A writer that comes late: before the fix the read waited for it, then sent what it wrote.
    os.execute("(sleep 2; printf 'x' > '" .. dir .. "/pipe.png') >/dev/null 2>&1 &")
    refused(dir .. "/pipe.png", "is a FIFO, not a regular file")
  end)

  it("says which path it cannot read and why, with a colon between them", function()
    refused(dir, "cannot read image file " .. dir .. ": is a directory, not a regular file")
    refused(dir .. "/missing.png", "cannot read image file " .. dir .. "/missing.png: No such file")
    refused(dir .. "/a\0.png", "cannot read image file " .. ("%q"):format(dir .. "/a\0.png") .. ": contains a NUL byte")
  end)

  it("refuses a device such as /dev/zero without reading it", function()
    refused("/dev/zero", "is a device, not a regular file")
  end)

  it("refuses a file over 15 MB by its size, before reading it", function()
    local path = dir .. "/huge.png"
    assert(os.execute("cp spec/fixtures/hero.png '" .. path .. "' && truncate -s 4G '" .. path .. "'"))
    refused(path, "4294967296 bytes")
  end)

  it("refuses the 8 bytes of a PNG signature, as bytes and as a file", function()
    refused("\137PNG\r\n\26\n", "not a whole PNG image")
    refused(write("sig.png", "\137PNG\r\n\26\n"), "not a whole PNG image")
  end)

  it("refuses a JPEG with no start of frame and a WEBP with no frame header", function()
    refused("\255\216\255\224\0\16JFIF\0\1\1\0\0\1\0\1\0\0", "not a whole JPEG image")
    refused("RIFF\20\0\0\0WEBPVP8 \8\0\0\0\0\0\0\0\0\0\0\0", "not a whole WEBP image")
  end)

  it("still sends a whole PNG, JPEG and WEBP", function()
    for _, f in ipairs { "hero.png", "small.jpg", "small.webp" } do
      assert(ff:upload_image("spec/fixtures/" .. f))
    end
  end)
end)

describe("uploads of one file by two jobs at once", function()
  -- An emulator, its client and two wait = false jobs that need the same new file.
  local function two_jobs()
    local emu = helper.start { job_seconds = 0.1 }
    local ff = emu:client()
    finally(function()
      ff:close()
      emu:stop()
    end)
    local body = { image = { source = { path = "spec/fixtures/hero.png" } }, size = { width = 160, height = 96 } }
    return emu, ff, assert(ff:expand_image(body, { wait = false })), assert(ff:expand_image(body, { wait = false }))
  end

  it("share one upload, and each job gets its id", function()
    local emu, _, a, b = two_jobs()
    assert(a:wait(), a.err and tostring(a.err))
    assert(b:wait(), b.err and tostring(b.err))
    assert.are.equal(1, emu:count("POST", "^/v2/storage/image$"))
    assert.are.equal(2, emu:count("POST", "^/v3/images/expand%-async$"))
  end)

  it("go on for the other job when one of them is canceled", function()
    local emu, ff, a, b = two_jobs()
    -- Until both are past their files' sha256 and wait for the upload.
    for _ = 1, 200 do
      if ((a._uploads or {})[1] or {}).share and ((b._uploads or {})[1] or {}).share then break end
      ff:step(0.01)
    end
    assert.is_true(a:cancel())
    local _, err = a:wait()
    assert.are.equal("canceled", err.kind)
    assert(b:wait(), b.err and tostring(b.err))
    assert.are.equal(1, emu:count("POST", "^/v3/images/expand%-async$"))
  end)
end)

describe("media.check", function()
  it("knows TIFF and JPEG XL by their signatures, for the operations that take them", function()
    for _, sig in ipairs { { "II*\0\8\0\0\0", "image/tiff" }, { "MM\0*\0\0\0\8", "image/tiff" },
                           { "\255\10\250\0", "image/jxl" }, { "\0\0\0\12JXL \r\n\135\n", "image/jxl" } } do
      assert.are.equal(sig[2], (media.sniff(sig[1])))
    end
  end)
end)

-- A {path} source in a wait = false call (issue 10): the upload is a transfer
-- of the engine, the file read in bounded chunks as the socket takes them, so
-- the call returns at once with a job that is "uploading"; the host's
-- ff:step drives it, with the upload's progress on the event queue, and
-- inside ff:map the same call yields to the other coroutines.
describe("an upload behind a stalled server", function()
  local hostile = require "helpers.hostile"
  local firefly = require "firefly"
  local srv, dir, big
  local SIZE = 12 * 1024 * 1024 -- over what the kernel's socket buffers take in at once

  setup(function()
    srv = hostile.start("slowupload")
    dir = helper.tmpdir()
    big = dir .. "/big.png"
    local f = assert(io.open(big, "wb"))
    local png = assert(helper.slurp("spec/fixtures/hero.png"))
    f:write(png, string.rep("\0", SIZE - #png))
    f:close()
  end)
  teardown(function()
    srv:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function client()
    return firefly.new { client_id = "id", access_token = "token", api_url = srv.url:gsub("/$", ""),
                         poll_interval = 0.1 }
  end

  -- The most body bytes of an upload the server has read, from its log (past its line `from`).
  local function received(from)
    local most = 0
    local lines = srv:requests()
    for i = (from or 0) + 1, #lines do
      local n = tonumber(lines[i]:match("^body (%d+)$"))
      if n and n > most then most = n end
    end
    return most
  end

  local function body()
    return { image = { source = { path = big } }, size = { width = 160, height = 96 } }
  end

  it("returns from a wait = false call at once, uploading, and ff:step(0) drives it to the end", function()
    local ff = client()
    finally(function() ff:close() end)
    local j = assert(ff:expand_image(body(), { wait = false }))
    assert.are.equal("uploading", j.status)
    assert.is_true((j.uploaded or 0) < SIZE)
    assert.is_true(received() < SIZE, received() .. " bytes were uploaded before the call returned")
    local progress, last = 0, 0
    while not j.finished do
      for _, ev in ipairs(ff:step(0.05)) do
        if ev.job == j and ev.type == "progress" then
          assert.are.equal("uploading", ev.status)
          assert.are.equal(SIZE, ev.total)
          assert.are.equal(j.uploaded, ev.bytes)
          assert.is_true(ev.bytes >= last)
          last = ev.bytes
          if j.uploaded > 0 and j.uploaded < SIZE then progress = progress + 1 end
        end
      end
    end
    assert(j.result, j.err and tostring(j.err))
    assert.are.equal("succeeded", j.status)
    assert.are.equal(SIZE, j.uploaded)
    assert.are.equal(SIZE, j.upload_size)
    assert.are.equal(SIZE, received())
    assert.is_true(progress >= 2, progress .. " progress events part way through the upload")
  end)

  it("cancels a job while it uploads: the upload stops, nothing is submitted, the job ends canceled", function()
    local ff = client()
    finally(function() ff:close() end)
    local submits = function()
      local n = 0
      for _, line in ipairs(srv:requests()) do if line:find("^POST /v3/") then n = n + 1 end end
      return n
    end
    local before = submits()
    local j = assert(ff:expand_image(body(), { wait = false }))
    for _ = 1, 200 do
      if (j.uploaded or 0) > 0 then break end
      ff:step(0.05)
    end
    assert.is_true((j.uploaded or 0) > 0, "the upload never started")
    assert.is_true(j:cancel())
    local ended
    while not j.finished do
      for _, ev in ipairs(ff:step(0.05)) do
        if ev.job == j and ev.type == "error" then ended = ev end
      end
    end
    assert.are.equal("canceled", j.status)
    assert.are.equal("canceled", j.err.kind, tostring(j.err))
    assert.truthy(ended, "the host got the job's end")
    assert.is_true(j.uploaded < SIZE)
    assert.are.equal(before, submits())
    assert.is_nil(ff:timeout(), "something is still in flight")
  end)

  it("fails a job whose file is edited while it uploads, naming the file, and submits nothing", function()
    local ff = client()
    finally(function() ff:close() end)
    local edited = dir .. "/edited.png"
    assert(os.execute("cp '" .. big .. "' '" .. edited .. "'"))
    local submits = function()
      local n = 0
      for _, line in ipairs(srv:requests()) do if line:find("^POST /v3/") then n = n + 1 end end
      return n
    end
    local before = submits()
    local j = assert(ff:expand_image({ image = { source = { path = edited } }, size = { width = 160, height = 96 } },
                                     { wait = false }))
    for _ = 1, 200 do
      if (j.uploaded or 0) > 0 then break end
      ff:step(0.05)
    end
    local f = assert(io.open(edited, "ab"))
    f:write("an edit")
    f:close()
    local r, err = j:wait()
    assert.is_nil(r)
    assert.are.equal("io", err.kind, tostring(err))
    assert.truthy(tostring(err):find(edited, 1, true), tostring(err))
    assert.truthy(tostring(err):find("changed", 1, true), tostring(err))
    assert.are.equal(before, submits())
  end)

  it("yields inside ff:map while the upload goes on, so another item finishes first", function()
    local emu = helper.start { job_seconds = 0.1 }
    local ff, other = client(), emu:client { poll_interval = 0.1 }
    finally(function()
      ff:close()
      other:close()
      emu:stop()
    end)
    -- What the server held of the file when the other item ended: less than all of it (the file is
    -- read 256 KiB per 40 ms), whether or not the file's sha256 (on the worker thread) was done by then.
    local held
    local from = #srv:requests() -- the earlier tests' uploads are in the log too
    local order = {}
    local _, errs = ff:map({ "upload", "quick" }, function(what)
      if what == "upload" then
        local r, err = ff:expand_image(body())
        order[#order + 1] = what
        return r, err
      end
      local r, err = other:generate_images { prompt = "meanwhile", size = { width = 16, height = 16 } }
      order[#order + 1] = what
      held = received(from)
      return r, err
    end, { concurrency = 2 })
    assert.are.same({}, errs)
    assert.are.same({ "quick", "upload" }, order)
    assert.is_true(held < SIZE, "the upload was still going when the other item ended")
  end)
end)
