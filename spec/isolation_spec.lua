-- An error belongs to the job or call that caused it, once (issue 8 item 2):
-- a raising callback, a raising ff:map, or a malformed success document never
-- surfaces in a later call, never costs a later call its paid result, and
-- leaves no job running that nobody waits for.
local helper = require "helpers.emulator"

local SIZE = { width = 16, height = 16 }

local function bug() error("bug in the callback") end

describe("a callback that raises", function()
  local emu, ff
  before_each(function() emu, ff = helper.serve { job_seconds = 0.3 } end)
  after_each(function() helper.close(emu, ff) end)

  local function settle()
    for _ = 1, 100 do
      if ff:stats().pending == 0 then return end
      ff:step(0.1)
    end
  end

  it("is raised by its own blocking call, once, and the next call gets its own result", function()
    local ok, why = pcall(ff.generate_images, ff, { prompt = "a", size = SIZE }, { on_progress = bug })
    assert.is_false(ok)
    assert.matches("bug in the callback", tostring(why))
    local r, err = ff:generate_images { prompt = "b", size = SIZE }
    assert.is_nil(err)
    assert.are.equal("table", type(r.outputs[1]))
    settle()
    -- The first job had nobody left to take its result: it was cancelled, not orphaned.
    assert.are.equal(1, emu:count("PUT", "^/v3/cancel/"))
    assert.are.equal(0, ff:stats().pending)
  end)

  it("of a wait = false job is raised by that job's wait, not by the call running meanwhile", function()
    local j = ff:generate_images({ prompt = "a", size = SIZE }, { wait = false, on_progress = bug })
    local r = assert(ff:generate_images { prompt = "b", size = SIZE })
    assert.are.equal("table", type(r.outputs[1]))
    local ok, why = pcall(j.wait, j)
    assert.is_false(ok)
    assert.matches("bug in the callback", tostring(why))
    -- Once: a second wait gives the job's end as a value.
    local again, err = j:wait()
    assert.is_nil(again)
    assert.are.equal("canceled", err.kind)
  end)

  it("is raised by the ff:step that ran it, and that step's events come with the next step", function()
    local j = ff:generate_images({ prompt = "a", size = SIZE }, { wait = false, on_progress = bug })
    local seen, raised = {}, 0
    for _ = 1, 200 do
      local ok, evs = pcall(ff.step, ff, 0.05)
      if not ok then
        raised = raised + 1
        assert.matches("bug in the callback", tostring(evs))
      else
        for _, ev in ipairs(evs) do seen[#seen + 1] = ev.type end
      end
      if j.finished then break end
    end
    assert.are.equal(1, raised)
    assert.are.equal("accepted", seen[1])
    assert.are.equal("error", seen[#seen])
  end)

  it("in an ff:map's on_progress aborts that map, cancels its jobs, and later calls run clean", function()
    local items = { "a", "b", "c" }
    local ok, why = pcall(ff.map, ff, items, function(p, i)
      -- The first item ends (an upload is quick) while the others' jobs run.
      if i == 1 then return ff:upload_image("examples/assets/hero.png") end
      return ff:generate_images { prompt = p, size = SIZE }
    end, { concurrency = 3, on_progress = function(e) if e.event == "item" then error("bug in the map") end end })
    assert.is_false(ok)
    assert.matches("bug in the map", tostring(why))
    local firefly = require "firefly"
    local r = firefly.run(function() return assert(ff:generate_images { prompt = "d", size = SIZE }) end)
    assert.are.equal("table", type(r.outputs[1]))
    settle()
    assert.are.equal(2, emu:count("PUT", "^/v3/cancel/"))
    assert.are.equal(0, ff:stats().pending)
  end)
end)

-- A server that answers a job as succeeded with outputs that are not objects.
local SERVER = [[
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        base = "http://%s" % self.headers["Host"]
        jid = "bad" if body["prompt"] == "bad" else "good"
        self.answer(202, {"jobId": jid, "statusUrl": base + "/v3/status/" + jid,
                          "cancelUrl": base + "/v3/cancel/" + jid})
    def do_GET(self):
        if self.path.endswith("/bad"):
            self.answer(200, {"jobId": "bad", "status": "succeeded", "result": {"outputs": ["a"]}})
        else:
            self.answer(200, {"jobId": "good", "status": "succeeded",
                              "result": {"outputs": [{"seed": 1, "image": {"url": "http://x.test/1.png"}}]}})
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_port, flush=True)
s.serve_forever()
]]

describe("a malformed success document", function()
  local pid, url, base

  setup(function()
    base = os.tmpname()
    local f = assert(io.open(base .. ".py", "wb"))
    f:write(SERVER)
    f:close()
    os.execute(("python3 %s.py >%s.out 2>/dev/null & echo $! >%s.pid"):format(base, base, base))
    for _ = 1, 300 do
      local port = (helper.slurp(base .. ".out") or ""):match("^(%d+)\n")
      if port then url = "http://127.0.0.1:" .. port break end
      helper.sleep(0.02)
    end
    pid = helper.slurp(base .. ".pid"):match("%d+")
  end)
  teardown(function()
    os.execute("kill " .. pid)
    for _, ext in ipairs { "", ".py", ".out", ".pid" } do os.remove(base .. ext) end
  end)

  it("is an http error of that job alone, inside ff:map and out of it", function()
    local ff = require("firefly").new { client_id = "id", access_token = "token", api_url = url, poll_interval = 0.1 }
    local results, errs = ff:map({ "bad", "good" }, function(p)
      return ff:generate_images({ prompt = p }, { validate = nil })
    end)
    assert.is_nil(errs[2], tostring(errs[2]))
    assert.are.equal("http", errs[1].kind)
    assert.matches("could not be read", errs[1].message)
    assert.are.equal(1, results[2].outputs[1].seed)
    local r, err = ff:generate_images { prompt = "bad" }
    assert.is_nil(r)
    assert.are.equal("http", err.kind)
    assert(ff:generate_images { prompt = "good" })
    ff:close()
  end)
end)
