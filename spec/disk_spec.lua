-- Files on disk (issue 8): a full disk, a short write or a failed close is an
-- `io` error naming the path, never a success over a short file; a save
-- replaces only a regular file; concurrent savers never share a temporary;
-- the client's own stale temporaries are cleaned up; no shell is run. The
-- full disks are real: small tmpfs mounts (spec/helpers/disk.lua).
local helper = require "helpers.emulator"
local disk = require "helpers.disk"
local core = require "firefly.core"

-- Seed 1 at this size is about 480 KB (the emulator's images are deterministic
-- from the seed): far more than a 64 KiB disk holds.
local BIG = { width = 2048, height = 2048 }
local SMALL = { width = 16, height = 16 }
local interp = helper.lua -- the interpreter under test, for the child processes

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end

local function exists(path) return os.execute("test -e '" .. path .. "'") == true end
-- What sits at path, in stat's words ("character special file", "fifo", "directory").
local function kind(path) return (sh("stat -c %F '" .. path .. "'"):gsub("%s+$", "")) end

local function io_error(err, needle)
  assert.is_table(err)
  assert.are.equal("io", err.kind, tostring(err))
  if needle then assert.truthy(tostring(err):find(needle, 1, true), tostring(err)) end
end

describe("a full disk", function()
  local emu, dir, full

  before_each(function()
    emu = helper.start { job_seconds = 0.1 }
    dir = helper.tmpdir()
    full = disk.small(64)
  end)
  after_each(function()
    emu:stop()
    disk.umount(full)
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("makes a save answered from the cache an io error naming the path, never a short file", function()
    local ff = emu:client { cache = dir .. "/cache" }
    local body = { prompt = "a full disk", seeds = { 1 }, size = BIG }
    assert(ff:generate_images(body))
    local hit = assert(ff:generate_images(body))
    assert.is_true(hit.from_cache)
    local target = full .. "/out.png"
    local ok, err = hit.outputs[1]:save(target)
    assert.is_nil(ok)
    io_error(err, target)
    assert.truthy(tostring(err):find("No space left on device", 1, true), tostring(err))
    assert.is_false(exists(target))
    assert.are.same({}, disk.named(full, "out.png"))
    ff:close()
  end)

  it("makes a download an io error naming the path, sent once and not retried", function()
    local ff = emu:client()
    local r = assert(ff:generate_images { prompt = "a full disk", seeds = { 1 }, size = BIG })
    local target = full .. "/out.png"
    local before = emu:count("GET", "^/outputs/")
    local ok, err = r.outputs[1]:save(target)
    assert.is_nil(ok)
    io_error(err, target)
    assert.truthy(tostring(err):find("No space left on device", 1, true), tostring(err))
    assert.are.equal(before + 1, emu:count("GET", "^/outputs/"))
    assert.are.same({}, disk.named(full, "out.png"))
    ff:close()
  end)

  it("fails a save whose manifest line cannot be written", function()
    local ff = emu:client { manifest = full .. "/manifest.jsonl" }
    local r = assert(ff:generate_images { prompt = "provenance", size = SMALL })
    disk.fill(full)
    local ok, err = r.outputs[1]:save(dir .. "/out.png")
    assert.is_nil(ok)
    io_error(err, full .. "/manifest.jsonl")
    ff:close()
  end)

  it("fails a call whose journal line cannot be written, naming the job to re-attach to", function()
    local ff = emu:client { journal = full .. "/journal.jsonl" }
    disk.fill(full)
    local r, err = ff:generate_images { prompt = "unrecorded", size = SMALL }
    assert.is_nil(r)
    io_error(err, full .. "/journal.jsonl")
    assert.is_string(err.job_id)
    assert.truthy(tostring(err):find("ff:job", 1, true), tostring(err))
    -- The job is not lost: it re-attaches.
    assert(ff:job(err.job_id))
    ff:close()
  end)

  it("fails a call whose cache entry cannot be written, naming the job", function()
    local ff = emu:client { cache = full .. "/cache" }
    local r, err = ff:generate_images { prompt = "no room to cache", seeds = { 1 }, size = BIG }
    assert.is_nil(r)
    io_error(err, full .. "/cache")
    assert.is_string(err.job_id)
    assert.are.same({}, disk.named(full .. "/cache", ""))
    ff:close()
  end)

  it("fails a call whose cache entry file cannot be written, leaving no half entry", function()
    local ff = emu:client { cache = full .. "/cache" }
    -- One free page: room for the 16x16 output, none for entry.json beside it.
    local room = assert(io.open(full .. "/room", "wb"))
    room:write(string.rep("r", 4096))
    room:close()
    disk.fill(full)
    os.remove(full .. "/room")
    local r, err = ff:generate_images { prompt = "room for one file", seeds = { 5 }, size = SMALL }
    assert.is_nil(r)
    io_error(err, "entry.json")
    assert.is_string(err.job_id)
    assert.are.same({}, disk.named(full .. "/cache", ""))
    ff:close()
  end)
end)

describe("concurrent savers of one cached output", function()
  it("never share a temporary file: every save succeeds with the cached bytes", function()
    local emu = helper.start { job_seconds = 0.1 }
    local dir = helper.tmpdir()
    local ff = emu:client { cache = dir .. "/cache" }
    local body = { prompt = "one output, many savers", seeds = { 3 }, size = { width = 256, height = 256 } }
    local r = assert(ff:generate_images(body))
    local cached = assert(ff:generate_images(body))
    local want = core.sha256(assert(cached.outputs[1]:bytes()))
    local target = dir .. "/shared.png"
    local runs = {}
    for i = 1, 6 do
      runs[i] = ("%s spec/fixtures/save_child.lua '%s' '%s' '%s' 15 >'%s/child%d' 2>&1 &")
        :format(interp, emu.url, dir .. "/cache", target, dir, i)
    end
    os.execute(table.concat(runs, " ") .. " wait")
    for i = 1, 6 do
      assert.are.equal("failed 0\n", helper.slurp(dir .. "/child" .. i), "child " .. i)
    end
    assert.are.equal(want, core.sha256_file(target))
    assert.are.same({ "shared.png" }, disk.named(dir, "shared"))
    assert.is_truthy(r)
    ff:close()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("out:save", function()
  local emu, ff, dir, r

  setup(function()
    emu, ff = helper.serve({ job_seconds = 0.1 }, {})
    r = assert(ff:generate_images { prompt = "somewhere to go", size = SMALL })
  end)
  teardown(function() helper.close(emu, ff) end)
  before_each(function() dir = helper.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("refuses to replace a device node, a FIFO or a directory, and leaves it as it was", function()
    -- /dev/full's own numbers, in a folder of ours: the machine's node is never at risk.
    assert(os.execute("mknod '" .. dir .. "/full' c 1 7 && mkfifo '" .. dir .. "/fifo' && mkdir '" .. dir .. "/dir'"))
    for name, was in pairs { full = "character special file", fifo = "fifo", dir = "directory" } do
      local ok, err = r.outputs[1]:save(dir .. "/" .. name)
      assert.is_nil(ok, name)
      io_error(err, "refusing to save over " .. dir .. "/" .. name)
      assert.are.equal(was, kind(dir .. "/" .. name))
    end
    assert.are.same({}, disk.named(dir, "full.part"))
  end)

  it("refuses the same for a cached copy", function()
    local cff = emu:client { cache = dir .. "/cache" }
    local body = { prompt = "cached", seeds = { 2 }, size = SMALL }
    assert(cff:generate_images(body))
    local hit = assert(cff:generate_images(body))
    assert(os.execute("mkfifo '" .. dir .. "/fifo'"))
    local ok, err = hit.outputs[1]:save(dir .. "/fifo")
    assert.is_nil(ok)
    io_error(err, "it is a FIFO")
    assert.are.equal("fifo", kind(dir .. "/fifo"))
    cff:close()
  end)

  it("replaces a regular file", function()
    local f = assert(io.open(dir .. "/old.png", "wb"))
    f:write("old")
    f:close()
    assert.are.equal(dir .. "/old.png", r.outputs[1]:save(dir .. "/old.png"))
    assert.are.equal(r.outputs[1]:bytes(), helper.slurp(dir .. "/old.png"))
  end)

  it("refuses a path with a NUL byte (C would write another file)", function()
    assert.has_error(function() r.outputs[1]:save(dir .. "/a.png\0.txt") end)
    assert.are.same({}, disk.named(dir, "a.png"))
  end)
end)

describe("a journal or manifest that is not a regular file", function()
  it("is never opened (a FIFO blocks an open forever): the call fails with an io error", function()
    local emu = helper.start { job_seconds = 0.1 }
    local dir = helper.tmpdir()
    assert(os.execute("mkfifo '" .. dir .. "/journal' && mkfifo '" .. dir .. "/manifest'"))
    local ff = emu:client { journal = dir .. "/journal" }
    local r, err = ff:generate_images { prompt = "a journal that is a pipe", size = SMALL }
    assert.is_nil(r)
    io_error(err, "not a regular file")
    ff:close()
    ff = emu:client { manifest = dir .. "/manifest" }
    r = assert(ff:generate_images { prompt = "a manifest that is a pipe", size = SMALL })
    local ok, serr = r.outputs[1]:save(dir .. "/out.png")
    assert.is_nil(ok)
    io_error(serr, "not a regular file")
    ff:close()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("the client's own temporaries", function()
  it("are removed, when stale, by the next save into their folder; nothing else is", function()
    local emu, ff = helper.serve({ job_seconds = 0.1 }, {})
    local dir = helper.tmpdir()
    -- What kill -9 mid-download leaves (zero bytes, hours old), and what it does not.
    local names = { "a.png.part-0badf00d", "b.png.part-12345678", "notes.part-old", "c.png.part-9abcdef0", "keep.txt" }
    for _, n in ipairs(names) do assert(io.open(dir .. "/" .. n, "wb")):close() end
    for _, n in ipairs { "a.png.part-0badf00d", "b.png.part-12345678", "notes.part-old", "keep.txt" } do
      os.execute(("touch -d '2 hours ago' '%s/%s'"):format(dir, n))
    end
    local r = assert(ff:generate_images { prompt = "tidy", size = SMALL })
    assert(r.outputs[1]:save(dir .. "/out.png"))
    local left = helper.ls(dir)
    table.sort(left)
    -- c's temporary is fresh (another saver may be writing it); notes and keep are not ours.
    assert.are.same({ "c.png.part-9abcdef0", "keep.txt", "notes.part-old", "out.png" }, left)
    helper.close(emu, ff)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("a cache's half-built entries", function()
  it("are removed, when stale, before the next entry is stored; fresh ones and others stay", function()
    local emu = helper.start { job_seconds = 0.1 }
    local dir = helper.tmpdir()
    local c = dir .. "/cache"
    -- What kill -9 during a cache fill leaves: a .tmp- folder with part of an entry.
    assert(os.execute(("mkdir -p '%s/.tmp-abc123-1-2' '%s/.tmp-def456-3-4' '%s/.tmp-not ours' && "
      .. "touch '%s/.tmp-abc123-1-2/1.png' && touch -d '2 hours ago' '%s/.tmp-abc123-1-2' '%s/.tmp-not ours'")
      :format(c, c, c, c, c, c)))
    local ff = emu:client { cache = c }
    assert(ff:generate_images { prompt = "tidy cache", seeds = { 6 }, size = SMALL })
    assert.are.same({ ".tmp-def456-3-4", ".tmp-not ours" }, disk.named(c, ".tmp-"))
    helper.close(emu, ff)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("library code", function()
  it("runs no shell: the cache, saves, journal and manifest make and remove folders through the core", function()
    local emu = helper.start { job_seconds = 0.1 }
    local dir = helper.tmpdir()
    local ff = emu:client { cache = dir .. "/a/b/cache", journal = dir .. "/journal.jsonl",
                            manifest = dir .. "/manifest.jsonl" }
    local execute, popen = os.execute, io.popen
    local ran = {}
    -- luacheck: push ignore 122 (os.execute and io.popen are watched for the test's length)
    os.execute = function(cmd) ran[#ran + 1] = tostring(cmd); return execute(cmd) end
    io.popen = function(cmd, ...) ran[#ran + 1] = tostring(cmd); return popen(cmd, ...) end
    local ok, r = pcall(ff.generate_images, ff, { prompt = "no shell", seeds = { 9 }, size = SMALL })
    local saved = ok and r and r.outputs[1]:save(dir .. "/out.png")
    local again = ok and ff:generate_images { prompt = "no shell", seeds = { 9 }, size = SMALL }
    local copied = again and again.outputs[1]:save(dir .. "/copy.png")
    os.execute, io.popen = execute, popen
    -- luacheck: pop
    assert.is_true(ok, tostring(r))
    assert.are.equal(dir .. "/out.png", saved)
    assert.are.equal(dir .. "/copy.png", copied)
    assert.are.same({}, ran)
    helper.close(emu, ff)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
