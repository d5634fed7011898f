-- test: once
-- The build's own configuration (cmake/deps.cmake): a build folder configured
-- by an earlier version, or a configure run again, must still find libcurl.
-- Each test configures the client alone (no emulator, one binding) in a
-- scratch folder: a second or so, nothing compiled.
local helper = require("helpers.emulator")

-- Configures this tree into dir with the extra arguments; true, and cmake's output.
local function configure(dir, args, env)
  local cmd = ("%s cmake -S . -B '%s' -DFIREFLY_EMULATOR=OFF -DFIREFLY_LUAS=5.4 %s 2>&1")
    :format(env or "", dir, args or "")
  local p = io.popen(cmd)
  local out = p:read("*a")
  local a, _, c = p:close()
  return a == true or a == 0 or (a == nil and c == 0), out
end

describe("configuring the build", function()
  local dir
  before_each(function() dir = helper.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("runs twice in one folder", function()
    local ok, out = configure(dir)
    assert.is_true(ok, out)
    ok, out = configure(dir)
    assert.is_true(ok, out)
  end)

  it("finds libcurl in a folder an older version configured (its pkg-config CURL_LIBDIR is in the cache)", function()
    -- What pkg_check_modules(CURL libcurl) left in CMakeCache.txt before cmake/deps.cmake existed.
    local ok, out = configure(dir, "-DCURL_LIBDIR:INTERNAL=/nonexistent/lib")
    assert.is_true(ok, out)
    assert.is_nil(out:find("CURL not found", 1, true), out)
  end)

  it("takes a CURL_LIBDIR alone as a hint, still finding the headers", function()
    local ok, out = configure(dir, nil, "CURL_LIBDIR=/nonexistent/lib")
    assert.is_true(ok, out)
  end)

  it("searches only the folders given with CURL_INCDIR, and says so when they hold no curl.h", function()
    local ok, out = configure(dir, "-DCURL_INCDIR=/nonexistent/include -DCURL_LIBDIR=/nonexistent/lib")
    assert.is_false(ok)
    assert.truthy(out:find("CURL not found", 1, true), out)
  end)
end)
