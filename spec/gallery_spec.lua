-- test: once (it judges a page in a browser; the batch behind it runs on every interpreter in batch_spec)
-- DIR/index.html, the gallery of a batch, opened in a real browser (Debian's
-- chromium, headless): every thumbnail decodes, every failed row shows its
-- error, the status filter works, and the page asks for nothing off the disk.
-- The screenshot is kept as a test artifact (build/artifacts/gallery.png).
local helper = require "helpers.emulator"
local cjson = require "cjson"

local interp = helper.lua

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  return (out:gsub("rc=%d+%s*$", "")), tonumber(out:match("rc=(%d+)%s*$"))
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local CHROMIUM = os.getenv("CHROMIUM") or "chromium"
local FLAGS = "--headless --disable-gpu --no-sandbox --allow-file-access-from-files --virtual-time-budget=5000"

-- Loaded beside the gallery (a copy of it with this at the end), it reports
-- what the browser made of the page into <pre id="verdict">.
local PROBE = [[
<script>
window.addEventListener('load', function () {
  var imgs = [].slice.call(document.querySelectorAll('img'));
  var failed = [].slice.call(document.querySelectorAll('.row[data-status=failed]'));
  var v = {
    images: imgs.length,
    decoded: imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
    failed: failed.length,
    failed_with_error: failed.filter(function (r) {
      var e = r.querySelector('.error'); return e && e.textContent.trim().length > 0; }).length,
    errors: failed.map(function (r) { var e = r.querySelector('.error'); return e ? e.textContent : ''; }),
    rows: document.querySelectorAll('.row').length
  };
  document.querySelector('[data-filter=failed]').click();
  v.visible_after_filter = [].slice.call(document.querySelectorAll('.row'))
    .filter(function (r) { return r.style.display !== 'none'; }).length;
  var pre = document.createElement('pre');
  pre.id = 'verdict';
  pre.textContent = JSON.stringify(v);
  document.body.appendChild(pre);
});
</script>
]]

describe("the batch gallery (DIR/index.html) in headless chromium", function()
  local emu, dir
  setup(function()
    emu = helper.start { job_seconds = 0.2 }
    dir = (sh("mktemp -d"):gsub("%s+$", ""))
    write(dir .. "/rows.csv", table.concat({
      "name,prompt,size.width,size.height,seeds,numVariations",
      "sword,an iron sword icon,64,64,11,1",
      "potions,two potion icons,96,64,21|22,2",
      "broken,[emulator:fail] a broken icon,64,64,31,1",
    }, "\n") .. "\n")
    local env = ("env -u FIREFLY_SERVICES_ACCESS_TOKEN ASAN_OPTIONS=detect_leaks=0 FIREFLY_SERVICES_CLIENT_ID=%s "
      .. "FIREFLY_SERVICES_CLIENT_SECRET=%s FIREFLY_SERVICES_API_URL=%s FIREFLY_SERVICES_IMS_URL=%s")
      :format(emu.client_id, emu.client_secret, emu.url, emu.url)
    local out, rc = sh(("%s %s bin/firefly batch '%s/rows.csv' -o '%s/out'"):format(env, interp, dir, dir))
    assert.are.equal(1, rc, out) -- one row fails on purpose
  end)
  teardown(function()
    emu:stop()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("shows every output decoded and every failed row with its error", function()
    local page = helper.slurp(dir .. "/out/index.html")
    write(dir .. "/out/probe.html", (page:gsub("</body>", PROBE .. "</body>")))
    local dom, rc = sh(("LD_PRELOAD= %s %s --dump-dom 'file://%s/out/probe.html' 2>/dev/null")
      :format(CHROMIUM, FLAGS, dir))
    assert.are.equal(0, rc, dom)
    local json = dom:match('<pre id="verdict">(.-)</pre>')
    assert.truthy(json, "the probe did not run: " .. dom:sub(1, 300))
    local v = cjson.decode((json:gsub("&quot;", '"'):gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&amp;", "&")))
    assert.are.equal(3, v.rows)
    assert.are.equal(3, v.images)
    assert.are.equal(3, v.decoded)
    assert.are.equal(1, v.failed)
    assert.are.equal(1, v.failed_with_error)
    assert.matches("job_failed", v.errors[1])
    assert.are.equal(1, v.visible_after_filter)
  end)

  it("is self-contained: no script, style or image from anywhere but its own folder", function()
    local page = helper.slurp(dir .. "/out/index.html")
    assert.is_nil(page:find("<script src", 1, true))
    assert.is_nil(page:find("<link", 1, true))
    assert.is_nil(page:find("https?://"))
    for src in page:gmatch('src="([^"]+)"') do
      assert.is_nil(src:find(":", 1, true), src)
      assert.is_nil(src:find("..", 1, true), src)
    end
  end)

  it("leaves a screenshot of itself as a test artifact", function()
    os.execute("mkdir -p build/artifacts")
    local shot = sh("pwd"):gsub("%s+$", "") .. "/build/artifacts/gallery.png"
    os.remove(shot)
    local out, rc = sh(("LD_PRELOAD= %s %s --window-size=1200,800 --screenshot='%s' 'file://%s/out/index.html'")
      :format(CHROMIUM, FLAGS, shot, dir))
    assert.are.equal(0, rc, out)
    assert.are.equal("\137PNG", (helper.slurp(shot) or ""):sub(1, 4))
  end)
end)

describe("writing the gallery", function()
  local gallery = require "firefly.cli.gallery"
  local dir
  before_each(function() dir = helper.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  local INFO = { title = "firefly batch", rows = {}, counts = {}, updated = "now" }

  it("leaves another writer's temporary alone (two batches into one folder once shared index.html.part)", function()
    write(dir .. "/index.html.part", "another batch's half-written page")
    assert(gallery.write(dir .. "/index.html", INFO))
    assert.are.equal("another batch's half-written page", helper.slurp(dir .. "/index.html.part"))
    assert.truthy(helper.slurp(dir .. "/index.html"):find("<html", 1, true))
    assert.are.same({ "index.html", "index.html.part" }, helper.ls(dir))
  end)

  it("refuses to replace a FIFO at the page's name, leaving it as it was", function()
    assert(os.execute("mkfifo '" .. dir .. "/index.html'"))
    local ok, err = gallery.write(dir .. "/index.html", INFO)
    assert.is_nil(ok)
    assert.truthy(tostring(err):find("it is a FIFO", 1, true), tostring(err))
    assert.are.same({ "index.html" }, helper.ls(dir))
  end)
end)
