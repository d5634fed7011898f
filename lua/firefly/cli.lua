-- The `firefly` command (bin/firefly): one command per Firefly operation,
-- plus status, cancel, run, batch, validate and emulator (batch and validate
-- live in cli/batch.lua). Exit codes: 0 ok, 1 a job or request failed, 2 usage
-- or validation error, 3 credentials missing or refused, 130 interrupted.

local core = require "firefly.core"
local fs = require "firefly.fs"
local names = require "firefly.cli.names"
local operations = require "firefly.operations"

local cli = {}

local EXIT = { ok = 0, failed = 1, usage = 2, auth = 3, interrupted = 130 }
cli.EXIT = EXIT

local USAGE_HEAD = [[
usage: firefly <command> [options]

commands:
]]

-- Commands that call no Firefly operation of their own.
local USAGE_TOOLS = [[
  run SCRIPT.lua      run a Lua pipeline script
  batch FILE -o DIR   run every row of a CSV or JSON Lines file (resumable; DIR/index.html)
  validate FILE       check a batch file and estimate it, with no network at all
  emulator [FLAGS]    run the local Firefly emulator (firefly-emulator --help)
]]

local USAGE_TAIL = [[

common options:
  -o, --output DIR    where outputs are saved (default .)
  --json              print JSON instead of text
  -h, --help          help for a command

Credentials: FIREFLY_SERVICES_CLIENT_ID and FIREFLY_SERVICES_CLIENT_SECRET
(or FIREFLY_SERVICES_ACCESS_TOKEN); FIREFLY_SERVICES_API_URL points at an emulator.
Exit codes: 0 ok, 1 a job failed, 2 usage or validation error, 3 credentials
missing or refused, 130 interrupted (Ctrl-C cancels the jobs this command started).
]]

-- name -> { args = {positional names}, flags = {flag = kind}, help = text }
local COMMANDS = {
  generate = { args = { "PROMPT" },
    help = "firefly generate PROMPT [-n N] [--size WxH] [--seed N] [--model-version V] [-o DIR] [--json]" },
  similar = { args = { "IMAGE" },
    help = "firefly similar IMAGE (upload id, https URL or file) [-n N] [--size WxH] [--seed N] [-o DIR] [--json]" },
  expand = { args = { "IMAGE" }, help = "firefly expand IMAGE [--size WxH] [--prompt P] [--seed N] [-o DIR] [--json]" },
  fill = { args = { "IMAGE", "MASK" }, help = "firefly fill IMAGE MASK [--prompt P] [--seed N] [-o DIR] [--json]" },
  composite = { args = { "IMAGE" },
    help = "firefly composite IMAGE --prompt P [--size WxH] [--seed N] [-o DIR] [--json]" },
  ["precise-composite"] = { args = { "BACKGROUND", "MASK", "OBJECT" },
    help = "firefly precise-composite BACKGROUND MASK OBJECT [-n N] [--seed N] [--blend 0..1] [--media-type T] "
      .. "[-o DIR] [--json]" },
  ["adaptive-composite"] = { args = { "BACKGROUND", "MASK", "OBJECT" },
    help = "firefly adaptive-composite BACKGROUND MASK OBJECT [--object-mask M] [-n N] [--seed N] "
      .. "[--harmonization 0..1] [--shadow-intensity 0..1] [--preserve-background] [--media-type T] "
      .. "[-o DIR] [--json]" },
  upscale = { args = { "IMAGE" }, help = "firefly upscale IMAGE [--factor 2|3|4|6] [--seed N] [-o DIR] [--json]" },
  video = { args = { "PROMPT" }, help = "firefly video PROMPT [--seed N] [-o DIR] [--json]" },
  upload = { args = { "FILE" }, help = "firefly upload FILE [--json]" },
  models = { args = {}, help = "firefly models [--json]" },
  status = { args = { "JOB" }, help = "firefly status JOB [--json]   (JOB: a jobId or a statusUrl)" },
  cancel = { args = { "JOB" }, help = "firefly cancel JOB [--json]" },
  run = { args = { "SCRIPT" },
    help = "firefly run SCRIPT.lua [ARGS...]   (the script gets `arg`; require \"firefly\" as usual)" },
  emulator = { args = {}, help = "firefly emulator [FLAGS]   (runs firefly-emulator; see firefly emulator --help)" },
  batch = { args = { "FILE" }, help = "firefly batch FILE -o DIR [--dry-run] [--skip-invalid] [--retry-failed] "
    .. "[--concurrency N] [--rate-limit N] [--cache DIR] [--timeout S] [--json]\n"
    .. "  FILE: a CSV (header row; Adobe's body fields as columns, nested ones dotted: size.width,\n"
    .. "  style.presets (values split by |); plus operation, model_version, name) or JSON Lines.\n"
    .. "  Re-running the same command goes on where the last run stopped." },
  validate = { args = { "FILE" },
    help = "firefly validate FILE [-o DIR] [--rate-limit N] [--concurrency N] [--cache DIR] [--json]\n"
    .. "  checks every row and prints what `firefly batch` would send, with no network at all" },
}

-- The command list of `firefly --help`: one line per registry command with
-- its paths (operations.lua), then the tools.
local function usage_text()
  local lines, at = {}, {}
  for _, op in ipairs(operations.list) do
    local spec = op.cli and COMMANDS[op.cli]
    if spec then
      if not at[op.cli] then
        local call = op.cli .. (#spec.args > 0 and " " .. table.concat(spec.args, " ") or "")
        lines[#lines + 1] = { ("  %-19s %s"):format(call, op.summary), {} }
        at[op.cli] = lines[#lines]
      end
      local paths = at[op.cli][2]
      paths[#paths + 1] = op.http .. " " .. op.path
    end
  end
  local out = {}
  for i, l in ipairs(lines) do out[i] = l[1] .. " (" .. table.concat(l[2], ", ") .. ")" end
  return USAGE_HEAD .. table.concat(out, "\n") .. "\n" .. USAGE_TOOLS .. USAGE_TAIL
end

local VALUE_FLAGS = { ["-n"] = "n", ["--n"] = "n", ["--size"] = "size", ["--seed"] = "seed", ["-o"] = "output",
  ["--output"] = "output", ["--prompt"] = "prompt", ["--model-version"] = "model_version",
  ["--timeout"] = "timeout", ["--factor"] = "factor", ["--blend"] = "blend", ["--object-mask"] = "object_mask",
  ["--media-type"] = "media_type", ["--harmonization"] = "harmonization", ["--shadow-intensity"] = "shadow_intensity",
  ["--concurrency"] = "concurrency", ["--rate-limit"] = "rate_limit", ["--cache"] = "cache" }
local BOOL_FLAGS = { ["--json"] = "json", ["-h"] = "help", ["--help"] = "help", ["--wait"] = "wait",
  ["--preserve-background"] = "preserve_background",
  ["--dry-run"] = "dry_run", ["--skip-invalid"] = "skip_invalid", ["--retry-failed"] = "retry_failed" }

-- Number flags: {flag, min, max, integer}. A value outside is refused before
-- anything is allocated or sent (-n 1e9 would otherwise build a billion seeds).
-- --timeout and --rate-limit become the client's options: their ranges are the
-- options' own, or a value the CLI let through raised inside the client
-- (--timeout 0.5 was a traceback; in a batch, every row lost without a word).
local RANGES = require("firefly.options").RANGES
local NUMBERS = {
  n = { "-n", 1, 4, true },                 -- Firefly's numVariations: 1..4 (API-NOTES)
  seed = { "--seed", 0, 4294967295, true }, -- Adobe's seeds are 32-bit unsigned
  timeout = { "--timeout", RANGES.timeout[1], RANGES.timeout[2] },
  concurrency = { "--concurrency", 1, 256, true },
  rate_limit = { "--rate-limit", RANGES["rate_limit.per_minute"][1], RANGES["rate_limit.per_minute"][2] },
  factor = { "--factor", 2, 6, true },
  blend = { "--blend", 0, 1 },
  harmonization = { "--harmonization", 0, 1 },
  shadow_intensity = { "--shadow-intensity", 0, 1 },
}

-- Turns the number flags into numbers, or says which one is wrong and why.
local function numbers(o)
  for key, spec in pairs(NUMBERS) do
    local v = o[key]
    if v ~= nil then
      local flag, lo, hi, integer = spec[1], spec[2], spec[3], spec[4]
      local n = tonumber(v)
      if not n or n ~= n or n == math.huge or n == -math.huge then
        return nil, ("%s must be a number, got '%s'"):format(flag, v)
      end
      if integer and n ~= math.floor(n) then return nil, ("%s must be a whole number, got '%s'"):format(flag, v) end
      if n < lo or n > hi then return nil, ("%s must be between %s and %s, got '%s'"):format(flag,
        ("%.15g"):format(lo), ("%.15g"):format(hi), v) end
      o[key] = integer and math.floor(n) or n
    end
  end
  return o
end


local function usage_error(io_, msg, cmd)
  io_.err:write("firefly: ", msg, "\n")
  io_.err:write(cmd and COMMANDS[cmd] and ("usage: " .. COMMANDS[cmd].help .. "\n")
    or "run 'firefly --help' for the commands\n")
  return EXIT.usage
end

-- An unknown command's nearest known one, for "did you mean".
local function closest(name)
  return require("firefly.nearest").find(name, COMMANDS, 2)
end

local function parse(args, from)
  local o, pos = {}, {}
  local i = from
  while i <= #args do
    local a = args[i]
    local k = a:match("^(%-%-?[%w-]+)=")
    local v = k and a:sub(#k + 2)
    k = k or a
    if VALUE_FLAGS[k] then
      if v == nil then
        i = i + 1
        v = args[i]
        if v == nil then return nil, "option " .. k .. " needs a value" end
      end
      o[VALUE_FLAGS[k]] = v
    elseif BOOL_FLAGS[a] then
      o[BOOL_FLAGS[a]] = true
    elseif a:match("^%-") and a ~= "-" and not tonumber(a) then
      return nil, "unknown option " .. a
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return o, pos
end

-- A file name from untrusted parts that can never leave the output directory.
cli.safe_name = names.safe

local function json_out(io_, v)
  io_.out:write(require("firefly.json").encode(v), "\n")
end

local function is_tty()
  return require("firefly.core").isatty(2)
end

local function progress_printer(io_, opts)
  if opts.json then return nil end
  local tty = is_tty()
  local last
  return function(j)
    local p = j.progress or 0
    if tty then
      local width = 30
      local fill = math.floor(p * width / 100)
      io_.err:write(("\r[%s%s] %3d%% %s "):format(("#"):rep(fill), ("."):rep(width - fill), p, j.status or ""))
      if j.status == "succeeded" or j.status == "failed" then io_.err:write("\n") end
    elseif j.status ~= last then
      last = j.status
      local pct = j.progress and (" " .. j.progress .. "%") or ""
      io_.err:write(("%s %s%s\n"):format(j.id or "job", j.status or "", pct))
    end
  end
end

local function size_of(s)
  if not s then return nil end
  local w, h = s:match("^(%d+)[xX](%d+)$")
  if not w then return nil, "--size must look like 2048x2048" end
  return { width = tonumber(w), height = tonumber(h) }
end

local function image_ref(s)
  if s:match("^https?://") then return { source = { url = s } } end
  if s:match("^%x+%-%x+%-%x+%-%x+%-%x+$") then return { source = { uploadId = s } } end
  return { source = { path = s } }
end

local function number_flag(o, key, flag)
  if o[key] == nil then return nil end
  local n = tonumber(o[key])
  if not n then return nil, flag .. " must be a number" end
  return n
end

-- The body for an operation from the parsed options.
local function body_for(cmd, o, pos)
  local size, err = size_of(o.size)
  if err then return nil, err end
  local n = o.n -- numbers() checked the number flags already
  local seed = o.seed
  local b = { size = size, numVariations = n, prompt = o.prompt }
  if seed then
    b.seeds = {}
    for i = 1, n or 1 do b.seeds[i] = seed + i - 1 end
  end
  if cmd == "generate" or cmd == "video" then
    b.prompt = pos[1]
    if cmd == "video" then b.size, b.numVariations = nil, nil end
    return b
  elseif cmd == "similar" then
    b.image = image_ref(pos[1])
  elseif cmd == "expand" then
    b.image = image_ref(pos[1])
  elseif cmd == "fill" then
    b.image, b.mask = image_ref(pos[1]), image_ref(pos[2])
  elseif cmd == "composite" then
    b.image = image_ref(pos[1])
  elseif cmd == "upscale" then
    local factor, ferr = number_flag(o, "factor", "--factor")
    if ferr then return nil, ferr end
    -- Adobe requires seeds here; without --seed the CLI picks one, as the service would.
    return { image = image_ref(pos[1]), upscaleFactor = factor, seeds = b.seeds or { math.random(0, 999999) } }
  elseif cmd == "precise-composite" or cmd == "adaptive-composite" then
    local c = { background = { image = image_ref(pos[1]), fillAreaMask = image_ref(pos[2]) },
      object = { image = image_ref(pos[3]) }, numVariations = n, seeds = b.seeds,
      output = o.media_type and { mediaType = o.media_type } or nil }
    local keys = cmd == "precise-composite" and { blend = "--blend" }
      or { harmonization = "--harmonization", shadow_intensity = "--shadow-intensity" }
    for key, flag in pairs(keys) do
      local v, verr = number_flag(o, key, flag)
      if verr then return nil, verr end
      c[key == "shadow_intensity" and "shadowIntensity" or key] = v
    end
    if cmd == "adaptive-composite" then
      if o.object_mask then c.object.mask = image_ref(o.object_mask) end
      c.preserveBackground = o.preserve_background
    end
    return c
  end
  return b
end

-- command -> the client method it calls: the first registry entry naming it.
local METHOD = {}
for _, op in ipairs(operations.list) do
  if op.cli and op.body == "json" and op.method and not METHOD[op.cli] then METHOD[op.cli] = op.method end
end

-- The exit code for an error: credentials refused 3, a request refused before
-- it was sent 2 (usage), the rest 1. An HTTP 401/403 from the API is
-- credentials; a 404 for a job id or a bad host is not.
local function exit_for(err)
  if err.kind == "auth" then return EXIT.auth end
  if err.kind == "validation" then return EXIT.usage end
  if err.kind == "canceled" and err.interrupted then return EXIT.interrupted end
  return EXIT.failed
end

local function fail(io_, err, opts)
  if opts.json then
    json_out(io_, { error = { kind = err.kind, status = err.status, code = err.code, message = err.message,
      job_id = err.job_id, request_id = err.request_id } })
  else
    io_.err:write(tostring(err), "\n")
  end
  return exit_for(err)
end

-- The client, with the command's extra options. Missing credentials exit 3;
-- any other refused option (a malformed FIREFLY_SERVICES_API_URL...) is usage.
local function client(io_, extra)
  local firefly = require "firefly"
  local ok, ff = pcall(firefly.new, extra)
  if not ok then
    local msg = tostring(ff):gsub("^[^:]*:%d+: ", "")
    io_.err:write(msg, "\n")
    return nil, msg:find("no credentials", 1, true) and EXIT.auth or EXIT.usage
  end
  local url = ff._opts.api_url
  if not url:match("^https?://[^/?#]+") then
    ff:close()
    io_.err:write(("firefly: the API URL '%s' is not an http(s) URL (FIREFLY_SERVICES_API_URL)\n"):format(url))
    return nil, EXIT.usage
  end
  return ff
end

-- Drives one job until it ends; Ctrl-C (or SIGTERM) cancels it and waits for
-- the cancel to be sent, then says so. Returns what job:wait returns.
local function drive(ff, j)
  core.trap_signals()
  while not j.finished do
    ff:step(0.5)
    if core.signalled() then
      j:cancel()
      local deadline = core.now() + 10
      while not j.finished and core.now() < deadline do
        if core.signalled() then break end
        ff:step(0.5)
      end
      local errors = require "firefly.errors"
      return nil, errors.new { kind = "canceled", interrupted = true, job_id = j.id,
        message = "interrupted: the job " .. (j.id and (j.id .. " ") or "") .. "was canceled" }
    end
  end
  return j:wait()
end

local function check_output_dir(io_, dir)
  local ok, err = require("firefly.cli.batch").writable(dir)
  if not ok then
    io_.err:write("firefly: ", err, "\n")
    return false
  end
  return true
end

local function run_operation(io_, cmd, o, pos)
  local body, err = body_for(cmd, o, pos)
  if not body then return usage_error(io_, err, cmd) end
  local dir = o.output or "."
  -- Found before anything is submitted: a paid job with nowhere to go is lost.
  if not check_output_dir(io_, dir) then return EXIT.usage end
  local ff, code = client(io_)
  if not ff then return code end
  local j, jerr = ff[METHOD[cmd]](ff, body, { model_version = o.model_version, timeout = o.timeout,
    on_progress = progress_printer(io_, o), wait = false })
  if not j then
    ff:close()
    return fail(io_, jerr, o)
  end
  local r
  r, jerr = drive(ff, j)
  if not r then
    ff:close()
    return fail(io_, jerr, o)
  end
  local saved = {}
  for i, out in ipairs(r.outputs) do
    local url = type(out.url) == "string" and out.url or "" -- a server's 42 is no URL (out:save says so)
    local ext = (url:match("^[^?#]*%.(%w+)$") or (out.video and "mp4" or "png")):lower()
    local job = r.job_id and r.job_id:match("([^:]+)$") or ""
    local path = dir .. "/" .. cli.safe_name(cmd, job, i, out.seed) .. "." .. cli.safe_name(ext)
    local ok, serr = out:save(path)
    if not ok then
      ff:close()
      return fail(io_, serr, o)
    end
    saved[#saved + 1] = { path = path, seed = out.seed }
    if not o.json then io_.out:write(path, "\n") end
  end
  if o.json then json_out(io_, { job_id = r.job_id, request_id = r.request_id, outputs = saved }) end
  ff:close()
  return EXIT.ok
end

-- What `status` shows of a finished job: each output's seed and URL, so paid
-- work can be fetched again while the URLs last (Adobe's expire after an hour).
local function outputs_of(r)
  local list = {}
  for i, out in ipairs(r and r.outputs or {}) do
    list[i] = { seed = out.seed, url = out.url }
  end
  return list
end

local function run_job(io_, cmd, o, pos)
  local id = pos[1]
  if not (id:match("^https?://") or id:match("^[%w:._-]+$")) then
    return usage_error(io_, ("'%s' is not a job id (urn:ff:jobs:... or its last part) or a status URL"):format(id), cmd)
  end
  local ff, code = client(io_)
  if not ff then return code end
  local j, err = ff:job(id, { wait = false })
  if not j then ff:close() return fail(io_, err, o) end
  core.trap_signals()
  if cmd == "cancel" then j:cancel() end
  -- status: one look (until the first status document); cancel: until it ends.
  while not j.finished and (cmd == "cancel" or (j.status == "pending" and not j.progress)) do
    ff:step(0.5)
    if core.signalled() then
      ff:close()
      io_.err:write("firefly: interrupted\n")
      return EXIT.interrupted
    end
  end
  if j.err and j.err.kind ~= "canceled" then ff:close() return fail(io_, j.err, o) end
  local doc = { job_id = j.id, status = j.status, progress = j.progress }
  if j.result then doc.outputs = outputs_of(j.result) end
  if j.err and j.err.kind == "canceled" then doc.status = "canceled" end
  if o.json then json_out(io_, doc) else
    local pct = doc.progress and (" " .. doc.progress .. "%") or ""
    io_.out:write(("%s %s%s\n"):format(doc.job_id or id, doc.status or "?", pct))
    for _, out in ipairs(doc.outputs or {}) do
      io_.out:write(("  seed %s  %s\n"):format(tostring(out.seed), tostring(out.url)))
    end
  end
  ff:close()
  return EXIT.ok
end

-- Cancels every job the clients in `made` have in flight and steps them until
-- the cancels are sent (at most `seconds`); returns how many were canceled.
local function cancel_clients(made, seconds)
  local n, deadline = 0, core.now() + seconds
  for ff in pairs(made) do
    if not ff._closed then n = n + ff:cancel_all() end
  end
  for ff in pairs(made) do
    while not ff._closed and ff._npending > 0 and core.now() < deadline do ff:step(0.2) end
  end
  return n
end

-- `firefly run SCRIPT`: Ctrl-C inside the script (the interpreter's own
-- "interrupted!" error) cancels the jobs of every client the script made and
-- exits 130, without a traceback.
local function run_script(io_, args, spec)
  if args[2] == "-h" or args[2] == "--help" then io_.out:write("usage: ", spec.help, "\n") return EXIT.ok end
  if not args[2] then return usage_error(io_, "run needs a script", "run") end
  -- A regular file, or "-" for standard input: loadfile would block on a FIFO.
  local why = args[2] ~= "-" and fs.unreadable(args[2])
  if why then return usage_error(io_, "cannot read the script " .. why, "run") end
  local chunk, lerr = loadfile(args[2] ~= "-" and args[2] or nil)
  if not chunk then return usage_error(io_, lerr, "run") end
  local script_args = { [0] = args[2] }
  for i = 3, #args do script_args[i - 2] = args[i] end
  _G.arg = script_args
  -- The clients the script makes, to cancel their jobs on Ctrl-C (weak: the script owns them).
  local firefly = require "firefly"
  -- Every wait of a client goes through its _pump: that is where a Ctrl-C is
  -- noticed (Lua's own interrupt hook does not run inside LuaJIT's compiled code).
  local made, new = setmetatable({}, { __mode = "k" }), firefly.new
  firefly.new = function(...)
    local ff = new(...)
    made[ff] = true
    local pump = ff._pump
    ff._pump = function(self, wait)
      local evs = pump(self, wait)
      if core.signalled() then error("interrupted!", 0) end
      return evs
    end
    return ff
  end
  core.trap_signals()
  local ok, e = pcall(chunk, (table.unpack or unpack)(script_args))
  firefly.new = new
  if not ok then
    if tostring(e):find("interrupted!", 1, true) then
      local n = cancel_clients(made, 10)
      local canceled = n > 0 and (" (%d job%s canceled)"):format(n, n == 1 and "" or "s") or ""
      io_.err:write(("firefly: interrupted%s\n"):format(canceled))
      return EXIT.interrupted
    end
    io_.err:write(tostring(e), "\n")
    return EXIT.failed
  end
  return EXIT.ok
end

function cli.main(args, io_)
  io_ = io_ or { out = io.stdout, err = io.stderr }
  local cmd = args[1]
  if cmd == nil or cmd == "-h" or cmd == "--help" or cmd == "help" then
    io_.out:write(usage_text())
    return cmd == nil and EXIT.usage or EXIT.ok
  end
  if cmd == "--version" then io_.out:write(require("firefly")._VERSION, "\n") return EXIT.ok end
  local spec = COMMANDS[cmd]
  if not spec then
    local near = closest(cmd)
    return usage_error(io_, ("unknown command '%s'%s"):format(cmd, near and (", did you mean '" .. near .. "'?") or ""))
  end
  if cmd == "emulator" then
    local launcher = require "firefly.launcher"
    local exe = launcher.find()
    if not exe then io_.err:write("firefly: firefly-emulator not found (set FIREFLY_EMULATOR)\n") return EXIT.failed end
    -- Started without a shell (core.spawn), its output on this terminal. It ends with
    -- this process, even after kill -9: --parent-pid is this process.
    local argv = { exe, "--parent-pid", tostring(core.getpid()) }
    for i = 2, #args do argv[#argv + 1] = args[i] end
    local proc, serr = core.spawn(argv, {})
    if not proc then io_.err:write("firefly: cannot start firefly-emulator: ", serr, "\n") return EXIT.failed end
    -- Ctrl-C reaches both: the emulator ends on it, this process waits for that and says how.
    core.trap_signals()
    local how, code = proc:wait(true)
    return how == "exit" and code or 128 + (code or 0)
  end
  if cmd == "run" then return run_script(io_, args, spec) end
  local o, pos = parse(args, 2)
  if not o then return usage_error(io_, pos, cmd) end
  if o.help then io_.out:write("usage: ", spec.help, "\n") return EXIT.ok end
  local nerr
  o, nerr = numbers(o)
  if not o then return usage_error(io_, nerr, cmd) end
  if #pos ~= #spec.args then
    local want = #spec.args == 0 and "no arguments" or table.concat(spec.args, " ")
    return usage_error(io_, ("%s expects %s"):format(cmd, want), cmd)
  end
  if cmd == "batch" or cmd == "validate" then
    core.trap_signals()
    return require("firefly.cli.batch").main(io_, cmd, o, pos[1], {
      EXIT = EXIT, tty = is_tty(),
      client = function(extra) return client(io_, extra) end,
    })
  end
  if METHOD[cmd] then return run_operation(io_, cmd, o, pos) end
  if cmd == "status" or cmd == "cancel" then return run_job(io_, cmd, o, pos) end
  local ff, code = client(io_)
  if not ff then return code end
  if cmd == "upload" then
    if not ff.upload_image then
      ff:close()
      io_.err:write("firefly: upload is not available in this version\n")
      return EXIT.failed
    end
    local id, info = ff:upload_image(pos[1])
    ff:close()
    if not id then return fail(io_, info, o) end
    if o.json then json_out(io_, { id = id }) else io_.out:write(id, "\n") end
    return EXIT.ok
  elseif cmd == "models" then
    if not ff.list_custom_models then
      ff:close()
      io_.err:write("firefly: models is not available in this version\n")
      return EXIT.failed
    end
    local page, err = ff:list_custom_models()
    ff:close()
    if not page then return fail(io_, err, o) end
    if o.json then json_out(io_, page) else
      for _, m in ipairs(page.custom_models or page.models or page) do
        io_.out:write(tostring(m.assetId or m.id or "?"), "  ", tostring(m.displayName or m.assetName or ""), "\n")
      end
    end
    return EXIT.ok
  end
  ff:close()
  return EXIT.usage
end

return cli
