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

describe("media.check", function()
  it("knows TIFF and JPEG XL by their signatures, for the operations that take them", function()
    for _, sig in ipairs { { "II*\0\8\0\0\0", "image/tiff" }, { "MM\0*\0\0\0\8", "image/tiff" },
                           { "\255\10\250\0", "image/jxl" }, { "\0\0\0\12JXL \r\n\135\n", "image/jxl" } } do
      assert.are.equal(sig[2], (media.sniff(sig[1])))
    end
  end)
end)
