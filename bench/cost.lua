-- Cost per job against the floor (issue 10 item 8): the raw libcurl-multi C client of
-- ../shared/peers (floor.c: no Lua, no JSON library) and the project's own client
-- (peers/peer_firefly.lua: validate, submit, poll, fetch and save each output) run the same
-- jobs on one emulator, one after the other, and a side-by-side table is printed.
--
--   make bench-cost          (or: lua5.4 bench/cost.lua [jobs] [in_flight] [peers_dir])
--
-- instr_per_job is what repeats on a shared, noisy machine: each client runs under callgrind
-- (the client process alone; the emulator is another process, not traced) at in_flight jobs
-- and at `jobs` jobs, and the difference divided by the difference in jobs is a job's marginal
-- cost, start-up left out. cpu_ms_per_job and requests_per_job come from a plain run at `jobs`
-- (the client's own rusage and request count; CPU swings run to run here, the ratio of
-- instructions does not). Kernel work is in neither column of instructions.
--
-- Its last line: floor_instr_per_job=F firefly_instr_per_job=C ratio=R requests_per_job=Q/Q
--
-- Measured (2 shared cores, 1000 jobs, 64 in flight; issue 10 item 8), instructions per job:
--   floor 392k; firefly 1,236k (3.15x) before the issue's work, 973k (2.48x) after its first
--   round; 1,026k (2.62x) on main before the compiled validator and the Lua hot path's fewer
--   tables (2026-12-02), 909k (2.32x) after; 851k (2.19x) with the C side's second round on top
--   (easy handles kept configured, header lines without allocations, the User-Agent as a line made
--   once, URLs read without a libcurl parse, a saved file's ends kept by the core: 1,027k to 954-975k
--   on its own); 819k (2.08x) after the Lua side's third round (an event carries only the fields Lua
--   reads of its kind, a result's whole numbers made integers in C, a valid body checked without
--   the tables it does not need: the interpreter 278k to 248k a job, libc 190k to 187k, callgrind
--   at 64 and 300 jobs); 3.001 requests per job for both every time. The last run's table:
--     client  jobs  instr_per_job  ratio  requests_per_job
--     floor   1000           393k  1.00x             3.001
--     firefly 1000           819k  2.08x             3.001
--   Runs differ by ~20k (the collector's
--   steps fall elsewhere). What remained before that round, per job (callgrind at 64 and 1000 jobs): libcurl 331k (the
--   floor's own: 279k; the rest mostly the header bytes the floor does not send, x-request-id,
--   Accept and User-Agent, which libcurl 7.88 copies into each request a byte at a time through its
--   printf, 75-100 instructions a byte, so a 1 KB Adobe token costs any client that much again per
--   request; then a submit's fresh connection), the Lua interpreter 295k (checking the body, the
--   driver, events and results), libc 186k (malloc and free for Lua's and libcurl's blocks; the
--   floor's: 101k), lua-cjson 18k, the core 16k.

local launcher = require "firefly.launcher"
local fs = require "firefly.fs"

local JOBS = tonumber(arg and arg[1]) or 1000
local IN_FLIGHT = tonumber(arg and arg[2]) or 64
local PEERS = arg and arg[3] or os.getenv("FIREFLY_PEERS") or "../shared/peers"
local JOB_SECONDS, FIRST_POLL_MS, POLL_MS = 2, 2000, 500
local SMALL = IN_FLIGHT -- the callgrind run whose cost is subtracted (start-up, one wave)

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

if not exists(PEERS .. "/floor.c") or not exists(PEERS .. "/peer_firefly.lua") then
  io.stderr:write(("bench/cost.lua: no floor.c and peer_firefly.lua in %s; pass the peers folder "
    .. "(FIREFLY_PEERS=... or the third argument)\n"):format(PEERS))
  os.exit(2)
end
if JOBS <= SMALL then
  io.stderr:write("bench/cost.lua: jobs must be more than in_flight\n")
  os.exit(2)
end

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  return out
end

local work = os.tmpname()
os.remove(work)
assert(fs.sh("mkdir -p " .. fs.quote(work)))
local floor_exe = work .. "/floor"
local built = sh("cc -O2 -o " .. fs.quote(floor_exe) .. " " .. fs.quote(PEERS .. "/floor.c") .. " -lcurl")
if not exists(floor_exe) then
  io.stderr:write("bench/cost.lua: floor.c did not build:\n", built)
  os.exit(1)
end
local has_valgrind = sh("command -v valgrind") ~= ""

local emu = assert(launcher.start { job_seconds = JOB_SECONDS })
-- The interpreter running this script runs the project's client too (its LUA_PATH is inherited).
local lua = arg[-1] or "lua5.4"
local clients = {
  { name = "floor", cmd = fs.quote(floor_exe) },
  { name = "firefly", cmd = fs.quote(lua) .. " " .. fs.quote(PEERS .. "/peer_firefly.lua") },
}

-- One run: the client's closing line as a table, and callgrind's instruction count if asked.
local function run(client, jobs, callgrind)
  local out = work .. "/out-" .. client.name .. "-" .. jobs .. (callgrind and "-cg" or "")
  assert(fs.sh("mkdir -p " .. fs.quote(out)))
  local args = table.concat({ "--ims", emu.url, "--api", emu.url, "--id", emu.client_id,
    "--secret", emu.client_secret, "--jobs", jobs, "--concurrency", IN_FLIGHT,
    "--first-poll-ms", FIRST_POLL_MS, "--poll-ms", POLL_MS, "--out", fs.quote(out) }, " ")
  local prefix = callgrind and "valgrind --tool=callgrind --callgrind-out-file=/dev/null " or ""
  local text = sh(prefix .. client.cmd .. " " .. args)
  local line = text:match("(client=[^\n]*)")
  if not line then
    io.stderr:write(("bench/cost.lua: %s printed no closing line:\n%s\n"):format(client.name, text))
    os.exit(1)
  end
  local r = {}
  for k, v in line:gmatch("(%S+)=(%S+)") do r[k] = tonumber(v) or v end
  r.instr = tonumber((text:match("Collected%s*:%s*([%d,]+)") or ""):gsub(",", ""), 10)
  if r.ok ~= jobs then
    io.stderr:write(("bench/cost.lua: %s finished %s of %d jobs:\n%s\n"):format(client.name, r.ok, jobs, text))
    os.exit(1)
  end
  assert(fs.sh("rm -rf " .. fs.quote(out)))
  return r
end

for _, c in ipairs(clients) do
  c.timed = run(c, JOBS, false)
  if has_valgrind then
    c.small = run(c, SMALL, true)
    c.large = run(c, JOBS, true)
    c.per_job = (c.large.instr - c.small.instr) / (JOBS - SMALL)
  end
end
emu.stop()
assert(fs.sh("rm -rf " .. fs.quote(work)))

local floor = clients[1]
print(("%d jobs, %d in flight, %d s jobs, first poll %d ms, then every %d ms; instructions are the marginal "
  .. "cost of a job between %d and %d jobs under callgrind"):format(JOBS, IN_FLIGHT, JOB_SECONDS, FIRST_POLL_MS,
  POLL_MS, SMALL, JOBS))
print(("%-8s %6s %14s %8s %17s %15s"):format("client", "jobs", "instr_per_job", "ratio", "requests_per_job",
  "cpu_ms_per_job"))
for _, c in ipairs(clients) do
  print(("%-8s %6d %14s %8s %17.3f %15.3f"):format(c.name, JOBS,
    c.per_job and ("%.0fk"):format(c.per_job / 1000) or "-",
    c.per_job and ("%.2fx"):format(c.per_job / floor.per_job) or "-",
    c.timed.requests / JOBS, c.timed.cpu_ms_per_job))
end
if not has_valgrind then io.stderr:write("bench/cost.lua: no valgrind, so no instruction counts\n") end
local ff = clients[2]
print(("floor_instr_per_job=%s firefly_instr_per_job=%s ratio=%s requests_per_job=%.3f/%.3f"):format(
  floor.per_job and ("%.0f"):format(floor.per_job) or "-", ff.per_job and ("%.0f"):format(ff.per_job) or "-",
  ff.per_job and ("%.2f"):format(ff.per_job / floor.per_job) or "-",
  floor.timed.requests / JOBS, ff.timed.requests / JOBS))
