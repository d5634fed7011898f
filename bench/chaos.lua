-- Chaos run: N generate jobs, 64 in flight, against an emulator injecting a
-- fault into about one request in five (--faults, seeded). What must hold:
--   * every job ends in a definite state (a saved output, or an error);
--   * no crash; no submit resent after the emulator accepted it (its log
--     carries each submit body's sha256: a repeated accepted digest is a
--     duplicate); no accepted job the client believes was never submitted;
--   * every saved output is byte-exact (sha256sum of the file against the
--     sha256 the emulator logged for that output); no .part- file is left;
--   * the client's RSS stays flat from the first batch of jobs to the last, and
--     so does its disk use per saved output (endless output bodies among the
--     faults: each must stop at max_download and leave nothing behind);
--   * with FIREFLY_LOG=debug, nothing written (stderr, the emulator's log,
--     saved files' names) holds the client secret or an access token.
--
--   make chaos           (or: lua5.4 bench/chaos.lua [jobs] [in_flight] [job_seconds])
--
-- The last line:
--   jobs=N ok=N failed=N faults=N retries=N duplicate_submits=N lost=N rss_start_mib=A rss_end_mib=B
--   disk_kib_per_output_start=C disk_kib_per_output_end=D
-- and the exit status is 0 only when every rule above held.

local JOBS = tonumber(arg and arg[1]) or 2000
local IN_FLIGHT = tonumber(arg and arg[2]) or 64
local JOB_SECONDS = tonumber(arg and arg[3]) or 0.3
local SEED = tonumber(os.getenv("CHAOS_SEED") or "") or 20261129
local SECRET = "chaos-secret-" .. SEED -- a test credential, made up here

-- One fault per five requests on average; each kind at a rate that gives the
-- full run dozens of it. Kinds that apply only to some requests (a submit, an
-- output, the token endpoint) take their share of those.
local FAULTS = table.concat({
  "429:0.03", "500:0.03", "503:0.02", "502:0.005", "refuse:0.02", "reset_after_accept:0.01",
  "reset:0.02", "truncate:0.02", "stall:0.005", "badjson:0.01", "job_failed:0.01",
  "job_timeout:0.005", "401:0.01", "ims_down:0.005", "expired:0.005",
}, ",")

-- Output downloads get a mix of their own, scripted (a scripted route decides
-- alone): an endless body (the client's max_download must end it, and the
-- disk must not fill) and a stall (stall_timeout and min_download_rate), at 3%
-- each, beside the kinds above that hit outputs. Drawn from the run's seed.
local OUTPUT_MIX = { { "endless", 0.03 }, { "stall", 0.03 }, { "reset", 0.02 }, { "truncate", 0.02 },
                     { "500", 0.02 }, { "expired", 0.005 } }
local function output_script(n, seed)
  local state, steps, oks = seed, {}, 0
  local function draw() -- a small LCG: the script is the same for the same seed
    state = (state * 1103515245 + 12345) % 2147483648
    return state / 2147483648
  end
  for _ = 1, n do
    local x, acc, kind = draw(), 0, nil
    for _, k in ipairs(OUTPUT_MIX) do
      acc = acc + k[2]
      if not kind and x < acc then kind = k[1] end
    end
    if kind then
      if oks > 0 then steps[#steps + 1] = "ok*" .. oks end
      steps[#steps + 1], oks = kind, 0
    else
      oks = oks + 1
    end
  end
  return "GET /outputs/*=" .. table.concat(steps, ",")
end

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function lines_of(cmd)
  local p = io.popen(cmd)
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

-- ---- the parent: run the child with FIREFLY_LOG=debug, then audit what it wrote ----

if os.getenv("FIREFLY_CHAOS_CHILD") == nil then
  local interp = arg[-1] or "lua5.4"
  local work = os.tmpname()
  os.remove(work)
  assert(os.execute("mkdir -p " .. quote(work)))
  local cmd = ("FIREFLY_CHAOS_CHILD=%s FIREFLY_LOG=debug %s %s %d %d %s 2>%s"):format(
    quote(work), interp, quote(arg[0]), JOBS, IN_FLIGHT, tostring(JOB_SECONDS), quote(work .. "/stderr"))
  local ok = os.execute(cmd)
  local child_ok = ok == true or ok == 0
  local result = slurp(work .. "/result") or ""
  -- Everything written: the client's stderr, the emulator's log and stderr, file names.
  local tokens = slurp(work .. "/tokens") or ""
  local leaks = 0
  local written = { (slurp(work .. "/stderr") or ""), (slurp(work .. "/emulator.log") or ""),
                    (slurp(work .. "/emulator.err") or ""),
                    table.concat(lines_of("env -u LD_PRELOAD ls -R " .. quote(work)), "\n") }
  local needles = { SECRET }
  for t in tokens:gmatch("[^\n]+") do needles[#needles + 1] = t end
  for _, text in ipairs(written) do
    for _, n in ipairs(needles) do
      if #n > 0 and text:find(n, 1, true) then leaks = leaks + 1 end
    end
  end
  local debug_lines = select(2, (slurp(work .. "/stderr") or ""):gsub("\n", "\n"))
  io.stderr:write(("chaos: %d debug lines and the emulator's log searched for the secret and %d tokens: %d found\n")
    :format(debug_lines, #needles - 1, leaks))
  for l in (slurp(work .. "/stderr") or ""):gmatch("[^\n]+") do
    if l:find("^chaos: ") then io.stderr:write(l, "\n") end
  end
  if not child_ok then io.stderr:write((slurp(work .. "/stderr") or ""):sub(-3000), "\n") end
  os.execute("rm -rf " .. quote(work))
  print(result)
  os.exit(child_ok and leaks == 0 and result ~= "" and 0 or 1)
end

-- ---- the child: the run itself ----

local firefly = require "firefly"
local launcher = require "firefly.launcher"
local cjson = require "cjson"

local WORK = os.getenv("FIREFLY_CHAOS_CHILD")
local OUT = WORK .. "/out"
assert(os.execute("mkdir -p " .. quote(OUT)))

local function rss_mib()
  local s = slurp("/proc/self/status") or ""
  return (tonumber(s:match("VmRSS:%s*(%d+)")) or 0) / 1024
end

local emu = assert(launcher.start {
  job_seconds = JOB_SECONDS, seed = SEED, log = WORK .. "/emulator.log",
  client_id = "chaos-client", client_secret = SECRET,
  flags = { ["faults"] = FAULTS, ["faults-script"] = output_script(JOBS * 2, SEED),
            ["fault-stall-seconds"] = 3, ["fault-retry-after"] = 0.2 },
})

local ff = firefly.new { client_id = "chaos-client", client_secret = SECRET,
                         api_url = emu.url, ims_url = emu.url, poll_interval = 0.2, poll_max = 1,
                         stall_timeout = 1, max_retries = 6, timeout = 60,
                         max_download = 4 * 1024 * 1024 } -- outputs are 64x64 PNGs; an endless one stops at 4 MiB

-- Each job's end: "ok", or the error's kind; its job id (or nil) and saved path.
local outcome, job_ids, unknown, paths, urls = {}, {}, {}, {}, {}

local function run(i)
  local r, err = ff:generate_images({ prompt = ("chaos job %05d"):format(i), numVariations = 1,
                                      size = { width = 64, height = 64 } })
  if not r then
    outcome[i], job_ids[i] = err.kind, err.job_id
    if err.kind == "unknown_outcome" then unknown[i] = true end
    return nil, err
  end
  job_ids[i] = r.job_id
  local path = ("%s/%05d.png"):format(OUT, i)
  local ok, serr = r.outputs[1]:save(path)
  if not ok then
    outcome[i] = "save:" .. serr.kind
    return nil, serr
  end
  outcome[i], paths[i], urls[i] = "ok", path, r.outputs[1].url
  return true
end

-- Bytes under OUT (saved outputs and anything else), after a batch has ended.
local function disk_bytes()
  local total = 0
  for _, l in ipairs(lines_of("env -u LD_PRELOAD find " .. quote(OUT) .. " -type f -printf '%s\\n'")) do
    total = total + (tonumber(l) or 0)
  end
  return total
end

local function saved_count()
  local n = 0
  for _ in pairs(paths) do n = n + 1 end
  return n
end

local BATCH = math.max(IN_FLIGHT * 4, math.floor(JOBS / 8))
local rss_start, crashed
-- Disk use per saved output, after the first batch and the last: flat when
-- endless bodies are cut at the cap and no temporary is left behind.
local disk_start, disk_end
for first = 1, JOBS, BATCH do
  local items = {}
  for i = first, math.min(JOBS, first + BATCH - 1) do items[#items + 1] = i end
  local okm, e = pcall(ff.map, ff, items, function(i) return run(i) end, { concurrency = IN_FLIGHT })
  if not okm then crashed = tostring(e) break end
  collectgarbage()
  rss_start = rss_start or rss_mib()
  disk_end = disk_bytes() / math.max(1, saved_count()) / 1024
  disk_start = disk_start or disk_end
end
collectgarbage()
local rss_end = rss_mib()
local stats = ff:stats()
ff:close()
emu.stop()

-- ---- audit ----

local ok_n, failed_n, undefined, kinds = 0, 0, 0, {}
for i = 1, JOBS do
  local o = outcome[i]
  if o == nil then
    undefined = undefined + 1
  elseif o == "ok" then
    ok_n = ok_n + 1
  else
    failed_n = failed_n + 1
    kinds[o] = (kinds[o] or 0) + 1
  end
end

-- The emulator's log: faults, accepted submits by body digest, output digests.
local faults, by_kind, accepted, duplicates, digest_of = 0, {}, {}, 0, {}
local accepted_jobs = {}
for line in io.lines(WORK .. "/emulator.log") do
  local e = cjson.decode(line)
  if e.fault then
    faults = faults + 1
    by_kind[e.fault] = (by_kind[e.fault] or 0) + 1
  end
  if e.method == "POST" and e.path == "/v3/images/generate-async" and e.job_id ~= nil then
    if accepted[e.body_sha256] then duplicates = duplicates + 1 end
    accepted[e.body_sha256] = true
    accepted_jobs[#accepted_jobs + 1] = e.job_id
  end
  if e.sha256 then digest_of[e.path:match("^/outputs/([^/]+)%.png$") or ""] = e.sha256 end
end

-- Accepted jobs the client knows nothing of: neither a result/job id nor an unknown_outcome.
local known = {}
for i = 1, JOBS do if job_ids[i] then known[job_ids[i]] = true end end
local n_unknown = 0
for _ in pairs(unknown) do n_unknown = n_unknown + 1 end
local orphans = 0
for _, id in ipairs(accepted_jobs) do if not known[id] then orphans = orphans + 1 end end
-- Each unknown_outcome may account for one accepted job the client never heard of.
local lost = undefined + math.max(0, orphans - n_unknown)

-- Byte-exact outputs, checked with sha256sum.
local mismatched = 0
local sums = {}
for _, l in ipairs(lines_of("cd " .. quote(OUT) .. " && env -u LD_PRELOAD sha256sum *.png 2>/dev/null")) do
  local sum, name = l:match("^(%x+)%s+%*?(.+)$")
  if sum then sums[OUT .. "/" .. name] = sum end
end
for i, path in pairs(paths) do
  local id = urls[i]:match("/outputs/([^/?]+)%.png")
  if sums[path] == nil or sums[path] ~= digest_of[id] then mismatched = mismatched + 1 end
end
local parts = #lines_of("env -u LD_PRELOAD find " .. quote(OUT) .. " -name '*.part-*'")

-- What the parent searches for besides the secret: anything shaped like the
-- emulator's tokens (a JOSE header in base64url starts "eyJ") or a bearer header.
local f = io.open(WORK .. "/tokens", "w")
f:write("eyJ\nBearer \n")
f:close()

local kinds_text = {}
for k, n in pairs(kinds) do kinds_text[#kinds_text + 1] = k .. "=" .. n end
table.sort(kinds_text)
local fault_text = {}
for k, n in pairs(by_kind) do fault_text[#fault_text + 1] = k .. "=" .. n end
table.sort(fault_text)
io.stderr:write("chaos: failures by kind: ", table.concat(kinds_text, " "), "\n")
io.stderr:write("chaos: faults injected: ", table.concat(fault_text, " "), "\n")
io.stderr:write(("chaos: outputs saved=%d mismatched=%d part_files=%d crashed=%s\n"):format(
  ok_n, mismatched, parts, tostring(crashed)))

local line = ("jobs=%d ok=%d failed=%d faults=%d retries=%d duplicate_submits=%d lost=%d rss_start_mib=%.1f "
  .. "rss_end_mib=%.1f disk_kib_per_output_start=%.1f disk_kib_per_output_end=%.1f")
  :format(JOBS, ok_n, failed_n, faults, stats.retries or -1, duplicates, lost, rss_start or 0, rss_end,
          disk_start or 0, disk_end or 0)
f = io.open(WORK .. "/result", "w")
f:write(line)
f:close()
local good = not crashed and undefined == 0 and duplicates == 0 and lost == 0 and mismatched == 0 and parts == 0
  and rss_end <= (rss_start or 0) * 1.5 + 8 and (disk_end or 0) <= (disk_start or 0) * 1.5 + 16
os.exit(good and 0 or 1)
