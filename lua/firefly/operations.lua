-- The Firefly operations, written once. The client (init.lua), the validator
-- (validate.lua), the CLI (cli.lua), the emulator's router, the types file and
-- the reference manual all read this table; none of them spells a path itself.
--
-- `operations.list` is plain data, one entry per (path, method) Adobe serves,
-- in the order the README and the manual show them. An entry's fields:
--
--   name            registry key; the ff:<name> method when `method` equals it
--   method          the ff:<method> that reaches it (nil: the client has none)
--   http, path      as in Adobe's document; `{jobId}` marks a path parameter
--   document        the firefly.openapi document that defines the path: its
--                   request schema, its x-model-version enum and its default
--   body            "json" (Adobe's JSON request, validated), "image" (raw bytes),
--                   nil (none: a GET, or a bodyless PUT)
--   model_version   the x-model-version sent when the caller names none
--                   (nil: none is sent unless the caller gives one)
--   selects_on      the x-model-version values that route a method here instead
--                   of to its first entry (Image 5: "image5" lives under /v4)
--   refused_model_versions  version -> why; refused before anything is sent
--   accept          the submit's answer: "job" ({jobId, statusUrl, cancelUrl}) or
--                   "links" ({links = {result = {href}, cancel = {href}}, progress})
--   accept_status   the HTTP status of that answer (202, or 200 for Image 5)
--   result          the finished job's `result`: "images" ({outputs[].seed,
--                   outputs[].image.url}), "upscale" ({outputs[].{id, presignedUrl,
--                   name, ...}, version}), "video" ({outputs[].{seed, video.url}})
--   max_input_bytes every image input at most this size, checked before upload
--   cli             the `firefly` subcommand that calls it
--   deprecated      true for the sync v3 paths: the emulator serves them, the
--                   client does not (Adobe dropped them from its docs on 2025-10-03)
--   summary         one line for the README table, the manual and `firefly --help`
--
-- What the document itself says (the schema, the model versions) is not copied
-- here: validate.operation(name) reads it from the document on first use.

local MB = 1024 * 1024

local operations = {}

operations.list = {
  { name = "generate_images", method = "generate_images", http = "POST", path = "/v3/images/generate-async",
    document = "firefly_api", body = "json", accept = "job", accept_status = 202, result = "images",
    cli = "generate", summary = "generate images from a prompt (Image 3 and 4)" },
  { name = "generate_images_v5", method = "generate_images", http = "POST", path = "/v4/images/generate-async",
    document = "firefly_api", body = "json", selects_on = { "image5" }, model_version = "image5",
    accept = "links", accept_status = 200, result = "images",
    cli = "generate", summary = "generate images with Image 5 (model_version = \"image5\")" },
  { name = "generate_similar_images", method = "generate_similar_images", http = "POST",
    path = "/v3/images/generate-similar-async", document = "firefly_api", body = "json",
    accept = "job", accept_status = 202, result = "images",
    cli = "similar", summary = "images like a reference image" },
  { name = "expand_image", method = "expand_image", http = "POST", path = "/v3/images/expand-async",
    document = "firefly_api", body = "json", accept = "job", accept_status = 202, result = "images",
    cli = "expand", summary = "expand an image past its borders" },
  { name = "fill_image", method = "fill_image", http = "POST", path = "/v3/images/fill-async",
    document = "firefly_api", body = "json", accept = "job", accept_status = 202, result = "images",
    cli = "fill", summary = "fill the masked area of an image" },
  { name = "generate_object_composite", method = "generate_object_composite", http = "POST",
    path = "/v3/images/generate-object-composite-async", document = "firefly_api", body = "json",
    accept = "job", accept_status = 202, result = "images",
    cli = "composite", summary = "place a product image in a generated scene" },
  -- [DOC26 usage-notes] composite inputs are at most 10 MB; read as 10 MiB [GUESS], like upload's 15 MB.
  { name = "precise_composite", method = "precise_composite", http = "POST", path = "/v3/images/precise-composite",
    document = "firefly_api", body = "json", accept = "job", accept_status = 202, result = "images",
    max_input_bytes = 10 * MB,
    cli = "precise-composite", summary = "put an object into a background's masked area, as it is" },
  { name = "adaptive_composite", method = "adaptive_composite", http = "POST",
    path = "/v3/images/adaptive-composite", document = "firefly_api", body = "json",
    accept = "job", accept_status = 202, result = "images", max_input_bytes = 10 * MB,
    cli = "adaptive-composite", summary = "put an object into a background, harmonized and shadowed" },
  { name = "upscale_image", method = "upscale_image", http = "POST", path = "/v3/images/upscale",
    document = "firefly_api", body = "json", model_version = "precise_upsampler_v1",
    refused_model_versions = {
      creative_upsampler_v1 = "Adobe refuses creative_upsampler_v1 since 2026-04-24 "
        .. "(only 'precise_upsampler_v1' is supported)",
    },
    accept = "links", accept_status = 202, result = "upscale",
    cli = "upscale", summary = "upscale an image 2, 3, 4 or 6 times" },
  -- [SPEC26 §10.5] x-model-version is required here and video1_standard its only value: sent by default.
  { name = "generate_video", method = "generate_video", http = "POST", path = "/v3/videos/generate",
    document = "firefly_api", body = "json", model_version = "video1_standard",
    accept = "job", accept_status = 202, result = "video",
    cli = "video", summary = "generate a video from a prompt and key frames" },
  { name = "upload_image", method = "upload_image", http = "POST", path = "/v2/storage/image",
    document = "firefly_api", body = "image",
    cli = "upload", summary = "upload a PNG, JPEG, WEBP, TIFF or JXL image; returns its upload id" },
  { name = "list_custom_models", method = "list_custom_models", http = "GET", path = "/v3/custom-models",
    document = "firefly_api",
    cli = "models", summary = "one page of the organization's custom models" },
  { name = "job_status", method = "job", http = "GET", path = "/v3/status/{jobId}", document = "firefly_api",
    cli = "status", summary = "a job's status document (ff:job re-attaches to it)" },
  { name = "cancel_job", http = "PUT", path = "/v3/cancel/{jobId}", document = "firefly_api",
    cli = "cancel", summary = "cancel a job (job:cancel())" },

  -- The deprecated synchronous v3 paths (npm FFApiOpenApi3.json): served by the emulator only.
  { name = "generate_images_sync", http = "POST", path = "/v3/images/generate", document = "ff_api_open_api3",
    body = "json", deprecated = true, summary = "deprecated synchronous generate" },
  { name = "generate_similar_images_sync", http = "POST", path = "/v3/images/generate-similar",
    document = "ff_api_open_api3", body = "json", deprecated = true,
    summary = "deprecated synchronous generate-similar" },
  { name = "expand_image_sync", http = "POST", path = "/v3/images/expand", document = "ff_api_open_api3",
    body = "json", deprecated = true, summary = "deprecated synchronous expand" },
  { name = "fill_image_sync", http = "POST", path = "/v3/images/fill", document = "ff_api_open_api3",
    body = "json", deprecated = true, summary = "deprecated synchronous fill" },
  { name = "generate_object_composite_sync", http = "POST", path = "/v3/images/generate-object-composite",
    document = "ff_api_open_api3", body = "json", deprecated = true,
    summary = "deprecated synchronous object composite" },
}

local by_name, patterns = {}, {}
for _, op in ipairs(operations.list) do by_name[op.name] = op end

-- The entry named `name`, or nil.
function operations.get(name)
  return by_name[name]
end

local function selects(op, version)
  for _, v in ipairs(op.selects_on or {}) do
    if v == version then return true end
  end
  return false
end

-- The entry a call of ff:<method> goes to with this x-model-version: the one
-- whose selects_on names it, else the method's first entry. nil: no such method.
local of_method = {} -- method -> its entries, in the list's order (the list is fixed once loaded)

function operations.for_method(method, model_version)
  local mine = of_method[method]
  if not mine then
    mine = {}
    for _, op in ipairs(operations.list) do
      if op.method == method then mine[#mine + 1] = op end
    end
    of_method[method] = mine
  end
  local first
  for _, op in ipairs(mine) do
    if op.method == method then
      if model_version ~= nil and selects(op, model_version) then return op end
      if not first and not op.selects_on then first = op end
    end
  end
  return first
end

-- Lua pattern for a path template: "/v3/status/{jobId}" -> "^/v3/status/([^/]+)$".
local function pattern_of(path)
  local p = path:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"):gsub("{[^}]+}", "([^/]+)")
  return "^" .. p .. "$"
end

-- The entry served at `http` `path` (no query string), and the path parameters
-- it captured; nil when no operation lives there. For the emulator's router.
function operations.find(http, path)
  http = (http or "POST"):upper()
  for _, op in ipairs(operations.list) do
    if op.http == http then
      patterns[op] = patterns[op] or pattern_of(op.path)
      if path:match(patterns[op]) then return op, { path:match(patterns[op]) } end
    end
  end
  return nil
end

-- Every path of Adobe's current document, once each, in the list's order.
function operations.paths()
  local seen, out = {}, {}
  for _, op in ipairs(operations.list) do
    if not op.deprecated and not seen[op.path] then
      seen[op.path] = true
      out[#out + 1] = op.path
    end
  end
  return out
end

return operations
