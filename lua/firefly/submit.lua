-- The submit path of every generating call, in one place and in this order:
--   1. identity: the request as the user wrote it, each local file by the
--      sha256 of its bytes (read and checked here, nothing sent yet);
--   2. cache: a request already answered is answered from disk;
--   3. journal: a job an earlier run submitted is re-attached to;
--   4. uploads: {path} sources become upload ids, uploaded by the engine
--      (the job is "uploading" meanwhile: a wait = false call returns at
--      once, and a coroutine yields);
--   5. submit: the body is validated, encoded and handed to the engine.
-- Keeping the order in one function is what stops a key from ever being
-- computed from a fresh upload id again (issue 8).

local cjson = require "firefly.json"
local cache = require "firefly.cache"
local errors = require "firefly.errors"
local inputs = require "firefly.inputs"
local job = require "firefly.job"
local journal = require "firefly.journal"
local manifest = require "firefly.manifest"
local pipeline = require "firefly.pipeline"
local result = require "firefly.result"
local scheduler = require "firefly.scheduler"

local submit = {}

local NONE = {} -- no files, no ids: never written

-- The client's cache, journal and manifest, opened on first use.
local function stores(client)
  local s = client._stores
  if not s then
    local o = client._opts
    s = { cache = o.cache and cache.open(o.cache), journal = o.journal and journal.open(o.journal),
          manifest = o.manifest and manifest.open(o.manifest) }
    client._stores = s
  end
  return s
end

-- The path at which a body contains itself, if it does (a cycle), below v
-- (".a.b[1]"): cjson and the request key would recurse until the C stack
-- overflows, far from the user's mistake. The path is written on the way back
-- from a cycle, so a body without one (every body sent) builds no string.
local function cycle(v, open)
  open[v] = true
  for k, x in pairs(v) do
    if type(x) == "table" then
      local below = open[x] and "" or cycle(x, open)
      if below then return (type(k) == "string" and ("." .. k) or ("[" .. tostring(k) .. "]")) .. below end
    end
  end
  open[v] = nil
end

-- Whether v goes deeper than `left` levels of tables. A tree as shallow as every real body is
-- proved one by this walk alone, which keeps no set of the tables open (two tables grown
-- key by key cost more than the walk); only a deeper one, a cycle's or a very deep tree, is
-- walked again by cycle.
local function deeper(v, left)
  if left == 0 then return true end
  for _, x in pairs(v) do
    if type(x) == "table" and deeper(x, left - 1) then return true end
  end
  return false
end

-- Misuse of a body raises, at the caller of the method (level 4 from here).
function submit.check_body(method, body)
  if type(body) ~= "table" then
    error(("ff:%s: body must be a table (Adobe's JSON request), got %s"):format(method, type(body)), 4)
  end
  local below = deeper(body, 32) and cycle(body, {})
  local at = below and "body" .. below
  if at then
    error(("ff:%s: the body contains itself at %s (a request body must be a tree of tables, as JSON is)")
      :format(method, at), 4)
  end
end

-- Every output saved (or the whole result stored in the cache) retires the
-- job's journal entry: its paid work is on disk, and a re-run asks anew.
local function watch_saves(s, r, meta, retire)
  local outs = r.outputs or {}
  local left = #outs
  if left == 0 and retire then retire() end
  if not s.manifest and not retire then return end
  for _, out in ipairs(outs) do
    local counted = false
    result.on_saved(out, function(o, path)
      -- A manifest line that cannot be written fails the save (an io error).
      if s.manifest then
        local ok, err = s.manifest:saved(meta, o, path)
        if not ok then return nil, err end
      end
      if not counted then
        counted, left = true, left - 1
        if left == 0 and retire then retire() end
      end
      return true
    end)
  end
end

-- early: the job a wait = false call returned while its files were hashed;
-- it ends here, succeeded, its "done" queued for the host.
local function from_cache(client, s, op, opts, key, meta, early)
  local hit = s.cache:get(key)
  if not hit then return nil end
  local r = result.new(client, hit.result, hit.job_id, hit.request_id)
  for i, out in ipairs(r.outputs) do result.local_file(out, hit.files[i]) end
  r.from_cache = true
  meta.job_id, meta.request_id, meta.from_cache = hit.job_id, hit.request_id, true
  watch_saves(s, r, meta, nil)
  local j = early or job.new(client, nil, op, opts)
  j._uploads = nil
  j.id, j.status, j.progress, j.result, j.finished, j.from_cache = hit.job_id, "succeeded", 100, r, true, true
  if early then
    scheduler.post(client, j, "done")
    scheduler.wake(j)
    return j
  end
  pipeline.joined(j, true)
  if opts.wait == false then return j end
  return r
end

-- Kinds of error after which an earlier run's job is known to be over, so
-- sending the request anew cannot pay for it twice.
local GONE = { http = true, job_failed = true, canceled = true }

-- The job an earlier run submitted for this request, re-attached; or nil
-- when there is none, or when it was submitted to another service (another
-- api_url): that service's job is not this one's to wait for, and this
-- service has never been asked, so asking it pays nothing twice.
local function reattach(client, s, key, op, opts, early)
  local earlier = s.journal:take(key)
  if not earlier then return nil end
  if not journal.same_service(earlier, client._opts.api_url) then
    s.journal:retire(key, earlier, "another api_url")
    io.stderr:write(("firefly: journal: job %s was submitted to another service (%s); "
      .. "submitting the request to %s instead\n"):format(tostring(earlier.job_id),
      tostring(earlier.api_url or earlier.status_url), client._opts.api_url))
    return nil
  end
  local j = client:_attach(earlier.status_url, { timeout = opts.timeout, on_progress = opts.on_progress })
  if j and early then
    -- The job returned already takes the attached one's place in the engine.
    client._pending[j._handle] = early
    early._handle, early._uploads = j._handle, nil
    early.id, early.status_url, early.cancel_url, early.status = j.id, j.status_url, j.cancel_url, j.status
    j = early
    scheduler.post(client, j, "status")
  end
  if j then j.operation, j.resumed, j._journal = op, true, earlier end
  return j
end

-- lua-cjson writes a number as "%.14g" (its precision cannot be raised past 14),
-- so a whole number of 1e14 or more may reach Firefly as another one: seeds = {2^53 + 1}
-- would be sent as 9.007199254741e+15, a different seed, paid for. Such numbers are
-- written with an exponent, so only a body whose JSON holds "e+" is walked for one
-- that does not survive the trip. A fraction is rounded to 14 digits, as JSON encoders
-- commonly do, and is let through.
local DIGITS = "%.14g"

-- JSON text is UTF-8 (RFC 8259), and lua-cjson copies a string's bytes as they are: a
-- Latin-1 "caf\xe9" would make a body Firefly cannot read. The byte where s stops being
-- UTF-8 (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut
-- short), or nil when it is UTF-8 throughout.
local function not_utf8_at(s)
  local i = s:find("[\128-\255]")
  while i do
    local c, b = s:byte(i, i + 1)
    local n = c >= 0xC2 and c <= 0xDF and 2 or c >= 0xE0 and c <= 0xEF and 3 or c >= 0xF0 and c <= 0xF4 and 4
    if not n or not b or b < 0x80 or b > 0xBF
      or (c == 0xE0 and b < 0xA0) or (c == 0xED and b > 0x9F) -- overlong; a surrogate
      or (c == 0xF0 and b < 0x90) or (c == 0xF4 and b > 0x8F) then -- overlong; past U+10FFFF
      return i
    end
    for k = i + 2, i + n - 1 do
      local x = s:byte(k)
      if not x or x < 0x80 or x > 0xBF then return i end
    end
    i = s:find("[\128-\255]", i + n)
  end
  return nil
end

local function inexact(v)
  return type(v) == "number" and v % 1 == 0 and tonumber(DIGITS:format(v)) ~= v
end

local function not_utf8(v)
  return type(v) == "string" and not_utf8_at(v) ~= nil
end

-- The first value in v, or field name, that bad() refuses: its place (the keys down to it)
-- and the value; nil when there is none.
local function first_bad(v, bad)
  if bad(v) then return {}, v end
  if type(v) == "table" then
    for k, x in pairs(v) do
      if bad(k) then return { k }, k end
      local loc, found = first_bad(x, bad)
      if loc then
        table.insert(loc, 1, k)
        return loc, found
      end
    end
  end
  return nil
end

-- A validation error at body.<loc>: msg in the user's terms, type ours (Adobe names none).
local function invalid(loc, msg, type_)
  table.insert(loc, 1, "body")
  local parts = {}
  for i, k in ipairs(loc) do parts[i] = tostring(k) end
  return nil, errors.new {
    kind = "validation",
    message = table.concat(parts, ".") .. ": " .. msg,
    details = { { loc = loc, msg = msg, type = type_ } },
  }
end

local function encode(body)
  local ok, json = pcall(cjson.encode, body)
  if not ok then
    return nil, errors.new { kind = "validation", message = "the body cannot be sent as JSON: " .. tostring(json) }
  end
  if json:find("e+", 1, true) then
    local loc, n = first_bad(body, inexact)
    if loc then
      local shown = (n >= -2^63 and n < 2^63) and ("%d"):format(n) or ("%.17g"):format(n)
      return invalid(loc, ("%s cannot be sent exactly: JSON numbers are written with 14 significant digits, "
        .. "so Firefly would get %s"):format(shown, DIGITS:format(n)), "number_not_exact")
    end
  end
  if json:find("[\128-\255]") and not_utf8_at(json) then
    local loc, s = first_bad(body, not_utf8)
    local at = not_utf8_at(s)
    return invalid(loc, ("is not UTF-8 text: byte %d (0x%02X) begins no UTF-8 character, and JSON carries "
      .. "only UTF-8, so Firefly could not read the body; convert the text to UTF-8 first"):format(at, s:byte(at)),
      "string_not_utf8")
  end
  return json
end

-- The engine's part: submit the body (json: its encoding, when known
-- already); the core's handle, or nil, err.
local function submit_handle(client, op, body, json, opts)
  local model_version = opts.model_version or op.model_version
  local jerr
  if not json then
    json, jerr = encode(body)
    if not json then return nil, jerr end
  end
  local handle, err = client._core:submit(client._opts.api_url .. op.path, json, model_version,
                                          opts.timeout or client._opts.timeout,
                                          opts.max_retries and math.floor(opts.max_retries))
  if not handle then return nil, errors.from_core(err) end
  client:_log("debug", "%s submitted", op.name)
  return handle
end

local function send(client, method, op, body, json, opts, early)
  local handle, err = submit_handle(client, op, body, json, opts)
  if not handle then return nil, err end
  if early then
    early:_submitted(handle)
    return early
  end
  return client:_track(handle, job.new(client, handle, method, opts))
end

-- A job that uploads its files first (inputs.start), then submits: it is
-- returned at once, "uploading"; the engine sends the files as the host
-- steps (or a wait waits), and the submit follows the last of them.
local function upload_then_send(client, method, op, body, files, ids, todo, opts, early)
  local size = 0
  for _, f in ipairs(todo) do size = size + f.size end
  local j = early or job.uploading(client, method, opts, size)
  j.upload_size = size
  local function over(done_ids, err)
    if not done_ids then return j:_failed(err) end
    -- Whatever goes wrong from here ends this job: nothing else would.
    local ok, handle, serr = pcall(submit_handle, client, op, inputs.sending(body, files, done_ids), nil, opts)
    if not ok then
      handle, serr = nil, errors.new { kind = "validation",
        message = "the request cannot be sent: " .. tostring(handle) }
    end
    if not handle then return j:_failed(serr) end
    j:_submitted(handle)
  end
  local xfers, err = inputs.start(client, todo, ids, function(bytes) j:_sent(bytes) end, over)
  if not xfers then return nil, err end
  j._uploads = xfers
  return j
end

-- After the files' digests are known: the cache, the journal, the uploads
-- and the submit. early: the job a wait = false call returned already (its
-- files were hashed meanwhile), which this goes on with.
local function proceed(client, method, op, body, opts, found, json, early)
  local s = stores(client)
  local use_journal = s.journal and opts.journal ~= false
  local use_cache = s.cache and opts.cache ~= false and (opts.cache == true or cache.reproducible(body))
  local key = (use_cache or use_journal) and cache.key(method, opts.model_version, inputs.identity(body, found))
  -- What the manifest and the cache record of the job: made only for them.
  local meta = (use_cache or s.manifest) and { operation = method, prompt = body.prompt,
                                               model_version = opts.model_version }
  if use_cache then
    local hit = from_cache(client, s, method, opts, key, meta, early)
    if hit then return hit end
  end
  local j = use_journal and reattach(client, s, key, method, opts, early)
  if not j then
    local ids, todo = NONE, NONE -- a body without files (most) asks nothing of the upload cache
    if #found > 0 then ids, todo = inputs.known(client, found) end
    local serr
    if #todo > 0 then
      j, serr = upload_then_send(client, method, op, body, found, ids, todo, opts, early)
    else
      j, serr = send(client, method, op, inputs.sending(body, found, ids), #found == 0 and json or nil, opts, early)
    end
    if not j then return nil, serr end
    if use_journal then
      j._on_accept = function(job_)
        local ok, err = s.journal:record(key, method, job_, client._opts.api_url)
        if not ok then job_._journal_error = err end
      end
    end
  end
  if early then return j end
  pipeline.joined(j)
  if opts.wait == false then return j end
  local r, werr = j:wait()
  pipeline.left(j)
  -- Unrecorded, the job would be submitted again after a crash: say so, with its id to re-attach.
  if r and j._journal_error then
    local e = j._journal_error
    e.message = e.message .. ("; job %s finished unrecorded: ff:job(%q) re-attaches to it"):format(
      tostring(j.id), tostring(j.status_url or j.id))
    return nil, e
  end
  if not r then
    if use_journal and j.id then s.journal:failed(key, j) end
    if j._journal then
      if GONE[werr.kind] then return submit.run(client, method, op, body, opts) end
      werr.message = ("%s (the journal's job %s could not be re-attached; it is not submitted again, "
        .. "as it may still be running: remove its lines from %s to submit anew)")
        :format(werr.message or "", tostring(j.id), client._opts.journal)
    end
    return nil, werr
  end
  if meta then meta.job_id, meta.request_id = r.job_id, r.request_id end
  local retire = use_journal and j.id and function() s.journal:retire(key, j) end
  if use_cache then
    local paths, cerr = s.cache:put(key, r, function(url, file) return result.fetch(client, url, file) end)
    if not paths and cerr.kind == "io" then
      cerr.job_id = cerr.job_id or r.job_id
      cerr.message = cerr.message .. ("; job %s succeeded: ff:job(%q) re-attaches to it"):format(
        tostring(r.job_id), tostring(j.status_url or r.job_id))
      return nil, cerr
    end
    for i, out in ipairs(paths and r.outputs or {}) do result.local_file(out, paths[i]) end
    if paths and retire then
      retire()
      retire = nil
    end
  end
  watch_saves(s, r, meta, retire)
  return r
end

-- A wait = false call with {path} files: the job comes back at once,
-- "uploading", while the client's worker thread hashes the files (their
-- sha256 is the request's identity for the cache, the journal and the
-- uploads already made); then it goes on as proceed says.
local function hash_then_proceed(client, method, op, body, opts, found, json)
  local size = 0
  for _, f in ipairs(found) do size = size + f.size end
  local j = job.uploading(client, method, opts, size)
  local hashes, err = inputs.hash(client, found, function(ok, herr)
    if not ok then return j:_failed(herr) end
    if j.finished then return end -- canceled meanwhile
    -- Whatever goes wrong from here ends this job: nothing else would.
    local fine, got, perr = pcall(proceed, client, method, op, body, opts, found, json, j)
    if not fine then
      got, perr = nil, errors.new { kind = "validation", message = "the request cannot be sent: " .. tostring(got) }
    end
    if not got then j:_failed(perr) end
  end)
  if not hashes then return nil, err end
  if not j.finished then j._uploads = hashes end -- j:cancel() stops them
  pipeline.joined(j)
  return j
end

-- Every generating call: method is the client's method name, op its entry in
-- lua/firefly/operations.lua (the one the model version routes to); body and
-- opts are checked already. Returns the result (or a job with wait = false).
-- A {path} file's sha256 is made on the client's worker thread: a wait = false
-- call returns before it is, a call inside firefly.run / ff:map yields meanwhile.
function submit.run(client, method, op, body, opts)
  local model_version, mode = opts.model_version or op.model_version, opts.validate or client._opts.validate
  if opts.wait == false then scheduler.open_queue(client) end -- a host will step it
  local found, ferr = inputs.check(op, body, { model_version = model_version, validate = mode, body_judged = true,
    warn = client._warn_fn, no_digest = true })
  if not found then return nil, ferr end
  -- Validated once, before the cache and any upload (stand-in ids for the files).
  local refused = client:_judge(op, inputs.stand_in(body, found), model_version, mode)
  if refused then return nil, refused end
  local json, jerr = encode(inputs.stand_in(body, found))
  if not json then return nil, jerr end
  if #found > 0 then
    if opts.wait == false then return hash_then_proceed(client, method, op, body, opts, found, json) end
    local herr
    local hashes, serr = inputs.hash(client, found, function(ok, e) if not ok then herr = e end end)
    if not hashes then return nil, serr end
    for _, x in ipairs(hashes) do x:wait() end
    if herr then return nil, herr end
  end
  return proceed(client, method, op, body, opts, found, json, nil)
end

return submit
