-- The one description of firefly's public interface, as luv's docs/docs.lua is:
-- tools/reference.lua turns it, with the operation registry
-- (lua/firefly/operations.lua), the client's option tables and Adobe's schemas,
-- into types/firefly.d.lua (lua-language-server) and docs/reference.md.
-- Only what the code cannot say is written here: prose, and the shapes of
-- values the Lua layer makes. spec/reference_spec.lua checks it against the code.
--
-- A function: { name, params = {{name, type, doc}...}, returns = {{type, name, doc}...}, doc }.
-- A type is written as lua-language-server writes it ("string?", "firefly.Job|nil").

local api = {}

api.intro = [[
`local firefly = require "firefly"`. One client per set of credentials; one method per
Firefly operation, whose body is Adobe's JSON request as a Lua table. Misuse (a wrong
argument type, a closed client) raises; anything that goes wrong at run time returns
`nil, err` with `err` a `firefly.Error`.]]

api.module = {
  { name = "new", params = { { "opts", "firefly.Options?", "every option may be omitted (see Options)" } },
    returns = { { "firefly.Client" } },
    doc = "A client. Options fall back to the environment, then to the defaults." },
  { name = "run", params = { { "fn", "fun(...): ...", "runs as a coroutine" }, { "...", "any", "fn's arguments" } },
    returns = { { "...", nil, "fn's results" } },
    doc = "Runs fn as a coroutine, driving every client until it returns. A generating call inside "
      .. "yields (in Lua, never across C) until its job is done." },
  { name = "set_wait", params = { { "fn", "fun(pollable: table)?", "waits once, yielding to a foreign scheduler" } },
    returns = {},
    doc = "A generating call inside a copas, cqueues or luv coroutine waits through fn(pollable) (pollfd, "
      .. "events, timeout) instead of blocking the thread; adapters: firefly.wait.cqueues, .luv, .copas. "
      .. "nil restores blocking." },
}

-- Client options: types, defaults and environment variables come from firefly.options.
api.options = {
  client_id = "Adobe Developer Console OAuth server-to-server client id",
  client_secret = "its secret; sent only to ims_url's origin",
  access_token = "a token you already have (no IMS request is made)",
  scopes = "the IMS scopes asked for",
  api_url = "Firefly's base URL (an emulator's, in tests)",
  ims_url = "the IMS base URL the token comes from",
  timeout = "seconds a job may take before it is cancelled and a timeout error returned",
  poll_interval = "seconds from submit to the first poll",
  poll_max = "the longest wait between polls",
  request_timeout = "seconds for one HTTP exchange",
  connect_timeout = "seconds to connect",
  stall_timeout = "seconds without a byte before a transfer fails",
  max_download = "bytes one download may bring; a longer body is an error, and its partial file removed",
  min_download_rate = "bytes/s a download must average after stall_timeout, or it fails",
  max_retries = "retries of a GET, download or token request (and a submit Firefly certainly refused)",
  retry_after_cap = "a longer retry-after is returned as a rate_limited error instead of slept through",
  retry_unknown_outcome = "resend, once, a submit whose answer was lost (it may make two jobs)",
  ca_file = "a CA bundle to verify TLS with (an inspecting proxy's)",
  proxy = "an HTTP(S) proxy URL",
  log = '"info" or "debug": one line per job (or per request) on stderr, never a secret',
  user_agent = "the User-Agent sent",
  rate_limit = { "{per_minute?: number, per_day?: number}", "a client-side budget of submits" },
  cache = "a directory: answers to seeded requests are kept and reused",
  journal = "a file: submitted jobs, so a re-run re-attaches instead of resubmitting",
  manifest = "a file: one JSON line of provenance per saved output",
  validate = { '"strict"|"warn"|"off"', '"strict" refuses a broken rule before sending, "warn" logs it and sends, '
    .. '"off" sends as is (Adobe changes enums within weeks: a stale rule must never strand you)' },
  on_warning = { "fun(text: string)", "gets each validation warning's text (default: a line on stderr)" },
  api_hosts = { "string[]", "more hosts the key and token may go to (besides api_url's and *.adobe.io)" },
}

-- What a generating call's opts carry (not body): types come from firefly._call_options.
api.call_options = {
  model_version = "the x-model-version header (\"image5\" routes generate_images to /v4)",
  timeout = "this job's deadline in seconds, instead of the client's",
  on_progress = "called with the job at each status change, and as its {path} inputs upload",
  wait = "false: return the job at once instead of waiting for the result",
  cache = "false: do not answer this call from the client's cache",
  journal = "false: keep this call out of the client's journal",
  max_retries = "retries for this call, instead of the client's",
  validate = { '"strict"|"warn"|"off"', "the client's validate, for this call" },
}

-- Client methods that are not one Firefly operation each (those come from the registry).
api.client = {
  { name = "job", params = { { "id_or_status_url", "string", "a jobId (URN or bare) or a statusUrl" },
      { "opts", "firefly.CallOptions?" } },
    returns = { { "firefly.Result|firefly.Job|nil" }, { "firefly.Error?", "err" } },
    doc = "Re-attaches to a job submitted earlier, and waits for it (or returns it, with wait = false)." },
  { name = "upload_image", params = { { "path_or_bytes", "string", "a file path, or the image's bytes" },
      { "opts", "{timeout: number}?" } },
    returns = { { "string?", "id", "the upload id, for a body's source.uploadId" },
      { "table|firefly.Error", "info_or_err", "{id, images, request_id}, or the error" } },
    doc = "POST /v2/storage/image: uploads a PNG, JPEG or WEBP image." },
  { name = "list_custom_models", params = { { "query", "firefly.ModelsQuery?" } },
    returns = { { "table?", "page", "Adobe's custom models listing: {custom_models, total_count, ...}" },
      { "firefly.Error?", "err" } },
    doc = "GET /v3/custom-models: one page of the organization's custom models." },
  { name = "custom_models", params = { { "query", "firefly.ModelsQuery?" } },
    returns = { { "fun(): table?", "iterator", "each custom model over every page" } },
    doc = "`for m in ff:custom_models{sortBy = \"assetName\"} do ... end`." },
  { name = "step", params = { { "wait", "number?", "seconds to wait for something to happen (default 0; a negative or NaN wait raises)" } },
    returns = { { "firefly.Event[]", "events", "every event queued since the last step" } },
    doc = "Host loops: advances without blocking (or up to `wait` seconds) and returns every event queued "
      .. "since the last step, whichever wait produced it (one queue per client)." },
  { name = "timeout", params = {},
    returns = { { "number?", "seconds", "until the client next needs a step; nil when nothing is in flight (or the client is closed)" } },
    doc = "For a host loop's sleep: the exact time until the client next has work." },
  { name = "pollfd", params = {},
    returns = { { "integer?", "fd", "an epoll descriptor holding every transfer's socket and the next deadline" } },
    doc = "A host's own loop (cqueues, luv, copas, epoll) waits until fd is readable or ff:timeout() seconds pass, "
      .. "then calls ff:step(0). nil where the platform has no epoll (macOS, the BSDs; firefly.core.poller is "
      .. "\"poll\" there): step on ff:timeout() there, which is at most 10 ms while a request is in flight." },
  { name = "events", params = {}, returns = { { '"r"', "events", "what to wait for on pollfd(): readable" } },
    doc = "cqueues' pollable protocol: the client is waited on for reading." },
  { name = "stats", params = {}, returns = { { "table", "stats", "the engine's counters, and pending" } },
    doc = "Counters of the engine (requests, retries, connections) and the number of pending operations." },
  { name = "map", params = { { "items", "any[]" },
      { "fn", "fun(item: any, i: integer): any, firefly.Error?", "runs as a coroutine per item" },
      { "opts", "firefly.MapOptions?" } },
    returns = { { "any[]", "results", "by input index" }, { "table<integer, firefly.Error>", "errs", "by index" },
      { "firefly.MapSummary", "summary" } },
    doc = "Calls fn(item, i) for every item, at most `concurrency` at once, each in its own coroutine." },
  { name = "cancel_all", params = {}, returns = {},
    doc = "Cancels every job in flight and stops every running ff:map from starting more." },
  { name = "close", params = {}, returns = {},
    doc = "Cancels what is pending (each gets a canceled error) and frees the engine. "
      .. "Idempotent; also __close and __gc." },
}

api.classes = {
  { name = "firefly.Job", doc = "A Firefly async job (opts.wait = false, or ff:job).",
    fields = {
      { "id", "string?", "Adobe's jobId, once accepted" },
      { "status", "string", '"uploading" (its {path} inputs), "submitting", "pending", "running", "succeeded", '
        .. '"failed", "canceled", "timeout"; a finished job is in one of the last four ("failed" when it ended '
        .. 'with an error the service did not report as a status: job.err says why)' },
      { "progress", "number?", "percent, as Adobe reports it" },
      { "uploaded", "integer?", "bytes of its {path} inputs sent so far, while and after uploading" },
      { "upload_size", "integer?", "bytes of its {path} inputs to upload (those not uploaded before)" },
      { "finished", "boolean" },
      { "operation", "string", "the registry name of the operation" },
      { "status_url", "string?" }, { "cancel_url", "string?" },
      { "result", "firefly.Result?", "once succeeded" }, { "err", "firefly.Error?", "once failed" },
    },
    methods = {
      { name = "wait", params = { { "timeout", "number?", "seconds; the job goes on after a timeout here" } },
        returns = { { "firefly.Result?" }, { "firefly.Error?", "err" } },
        doc = "Waits for the job: yields inside firefly.run or ff:map, steps the engine anywhere else." },
      { name = "cancel", params = {}, returns = { { "boolean", "sent" } },
        doc = "Asks Firefly to cancel (PUT cancelUrl); the job ends canceled, or succeeded if it won the race." },
    } },
  { name = "firefly.Transfer", doc = "A save or fetch made with wait = false, stepped like a job: ff:step "
      .. "queues its \"progress\" events as its body arrives, then its \"done\" or \"error\".",
    fields = {
      { "kind", '"save"|"fetch"' },
      { "path", "string?", "a save's file" },
      { "finished", "boolean" },
      { "bytes", "number?", "body bytes so far, as of the last ff:step" },
      { "total", "number?", "the body's announced size, if the server gave one" },
      { "progress", "number?", "percent of total, when known" },
      { "result", "string?", "once done: a save's path, a fetch's bytes" }, { "err", "firefly.Error?", "once failed" },
    },
    methods = {
      { name = "wait", params = { { "timeout", "number?", "seconds" } },
        returns = { { "string?", "path_or_bytes" }, { "firefly.Error?", "err" } },
        doc = "Waits for the transfer as job:wait() does for a job." },
      { name = "cancel", params = {}, returns = { { "boolean", "stopped" } },
        doc = "Stops the transfer now; a save leaves nothing at its path." },
    } },
  { name = "firefly.Result", doc = "A finished job's result: Adobe's `result` object, outputs made firefly.Output.",
    fields = {
      { "outputs", "firefly.Output[]" },
      { "size", "{width: integer, height: integer}?", "images: the size generated" },
      { "job_id", "string?" }, { "request_id", "string?" },
    } },
  { name = "firefly.Output", doc = "One output: Adobe's fields as they came (seed, image.url, video.url, "
      .. "presignedUrl), and `url` whatever the shape.",
    fields = {
      { "url", "string?", "where the file is (presigned, expires an hour after the job)" },
      { "seed", "integer?" },
      { "image", "{url: string}?" }, { "video", "{url: string}?" },
    },
    methods = {
      { name = "save", params = { { "path", "string" }, { "opts", "{wait: boolean?}?", "wait = false: return an operation" } },
        returns = { { "string|firefly.Transfer?", "path", "or, with wait = false, a transfer stepped like a job" },
          { "firefly.Error?", "err" } },
        doc = "Streams the output to path (a temporary name first, renamed when complete). With wait = false "
          .. "it returns at once; ff:step gives the operation's end and op:wait() the path." },
      { name = "bytes", params = {}, returns = { { "string?", "bytes" }, { "firefly.Error?", "err" } },
        doc = "The output's bytes, in memory." },
      { name = "fetch", params = { { "opts", "{wait: boolean?}?", "wait = false: return an operation" } },
        returns = { { "string|firefly.Transfer?", "bytes", "or, with wait = false, a transfer stepped like a job" },
          { "firefly.Error?", "err" } },
        doc = "The output's bytes, as out:bytes(); with wait = false an operation whose op:wait() gives them." },
    } },
  { name = "firefly.Event", doc = "What ff:step returns, one per change.",
    fields = {
      { "type", '"accepted"|"status"|"progress"|"done"|"error"',
        "what happened (progress: a transfer's body grew, or an uploading job's files went on)" },
      { "job", "firefly.Job|firefly.Transfer", "the job or transfer it happened to" },
      { "status", "string?" }, { "progress", "number?" }, { "err", "firefly.Error?" },
      { "bytes", "number?", "a progress event's body bytes so far" }, { "total", "number?", "and the announced size" },
    } },
  { name = "firefly.MapOptions", doc = "ff:map's opts.",
    fields = {
      { "concurrency", "integer?", "items at once, a whole number >= 1 (default 8; math.huge: no limit)" },
      { "fail_fast", "boolean?", "stop the batch (cancel what is in flight) at the first failure" },
      { "on_progress", "fun(p: table)?", "called per job status and per item: {event, index, total, done, "
        .. "failed, cached, running, percent, elapsed, ...}" },
    } },
  { name = "firefly.MapSummary", doc = "ff:map's third result.",
    fields = {
      { "total", "integer" }, { "done", "integer" }, { "failed", "integer" }, { "cached", "integer" },
      { "canceled", "integer" }, { "elapsed", "number", "seconds" },
    } },
  { name = "firefly.ModelsQuery", doc = "A custom models query (Adobe's query parameters).",
    fields = {
      { "start", "integer?" }, { "limit", "integer?" },
      { "sortBy", "string?", 'a field name; a leading "-" reverses' }, { "publishedState", "string?" },
    } },
}

-- The field every image `source` takes beyond Adobe's schema (lua/firefly/inputs.lua).
api.source_path = "a local file: the client uploads it first and sends its uploadId (nothing else beside it)"

-- err.kind, each with what it means and what to do.
api.error_fields = {
  { "kind", "firefly.ErrorKind" },
  { "status", "integer?", "the HTTP status" },
  { "code", "string?", "Adobe's error_code" },
  { "message", "string" },
  { "request_id", "string?", "x-request-id, for Adobe's support" },
  { "job_id", "string?" },
  { "retry_after", "number?", "seconds the server asked to wait" },
  { "attempts", "integer?", "how many times the request was tried" },
  { "details", "table?", "Adobe's validation_errors, or the validator's ({loc, msg, type})" },
}
api.error_kinds = {
  { "validation", "the request was refused before it was sent (or with a 400/422): details says where" },
  { "auth", "credentials missing or refused (401/403 after one refresh)" },
  { "rate_limited", "429 past the retries, or a retry-after longer than retry_after_cap" },
  { "http", "another HTTP error status" },
  { "timeout", "the job's deadline passed; the client cancelled it" },
  { "transport", "connection, DNS or TLS failure past the retries" },
  { "io", "a local file could not be read or written" },
  { "job_failed", "Firefly ran the job and it failed" },
  { "canceled", "the job was cancelled (job:cancel, ff:cancel_all, ff:close)" },
  { "content_policy", "Adobe's 451: the prompt or an input was refused by content policy" },
  { "unknown_outcome", "a submit whose answer was lost: it may have made a job, and is not resent" },
  { "raised", "inside ff:map: the item's function raised this (or returned nil)" },
}

return api
