-- Every rule firefly/validate.lua enforces that Adobe's current document does not
-- state as schema, in one place. A body Ajv accepts may be refused by the client only
-- with errors matching one of these (spec/conformance/oracle.lua checks it); every
-- entry has a witness, a body the schema accepts and the rule refuses, and
-- spec/validation_oracle_spec.lua checks each witness both ways, so a rule that
-- disappears or a list that goes stale fails.
--
--   type, at, msg: the error's `type`, and Lua patterns on its dotted loc and its msg.
--   source: where Adobe says it (API-NOTES section and its tag).

local UPLOAD = "510aabb4-e154-4a7b-bd2e-f492ee71c938"
local S3 = "https://my-bucket.s3.amazonaws.com/in.jpg?X-Amz-Signature=abc"

return {
  { rule = "seeds_match_variations", type = "value_error.seeds.count", at = "^body%.seeds$",
    source = "API-NOTES §3.1 [SPEC description of seeds]: as many seeds as numVariations",
    witness = { op = "generate_images", body = { prompt = "two kites", numVariations = 2, seeds = { 1 } } } },
  { rule = "custom_model_id", type = "value_error.missing", at = "^body%.customModelId$",
    source = "API-NOTES §1.3, §3.2 [SPEC description, DOC custom-models]: *_custom versions need customModelId",
    witness = { op = "generate_images", body = { prompt = "a bean" }, opts = { model_version = "image3_custom" } } },
  { rule = "style_presets", type = "type_error.enum", at = "%.style%.presets%.%d+$",
    source = "API-NOTES §3.1 style [DOC concepts/style-presets]: preset ids are a closed list",
    witness = { op = "generate_images", body = { prompt = "x", style = { presets = { "nope" } } } } },
  { rule = "image_sources: exactly one input", type = "value_error.source", at = "^body%.",
    source = "API-NOTES §3.1 image source [SPEC description, GUESS for {}]: one of uploadId, url",
    witness = { op = "generate_similar_images", body = { image = { source = { uploadId = UPLOAD, url = S3 } } } } },
  { rule = "image_sources: allow-listed host", type = "value_error.url.host", at = "%.url$",
    msg = "^URL host not permitted",
    source = "API-NOTES §3.1, §10.3 [DOC concepts/image-upload, usage-notes]: pre-signed URLs, Adobe's storage list",
    witness = { op = "generate_similar_images",
      body = { image = { source = { url = "https://example.com/in.jpg" } } } } },
  { rule = "image_sources: https only", type = "value_error.url.scheme", at = "%.url$",
    msg = "^URL scheme not permitted$",
    source = "API-NOTES §3.1 [DOC concepts/image-upload]: pre-signed https URLs",
    witness = { op = "generate_similar_images",
      body = { image = { source = { url = "http://b.s3.amazonaws.com/in.jpg" } } } } },
  { rule = "placement_and_mask", type = "value_error.placement.with_mask", at = "^body%.placement$",
    source = "API-NOTES §3.1 placement [SPEC description of Placement]: not with a mask",
    witness = { op = "expand_image", body = { image = { source = { uploadId = UPLOAD } },
      mask = { source = { uploadId = UPLOAD } }, placement = { alignment = { horizontal = "left" } } } } },
  { rule = "reference_blobs_aspect", type = "value_error.aspect_ratio.with_reference_blobs", at = "^body%.aspectRatio$",
    source = "API-NOTES §10.3 [DOC26 guides/how-tos/cm-generate-image]: with reference blobs, aspectRatio auto or none",
    witness = { op = "generate_images_v5", opts = { model_version = "image5" }, body = { prompt = "a fox",
      aspectRatio = "16:9", referenceBlobs = { { source = { uploadId = UPLOAD }, usage = "general" } } } } },
  -- Not prose but the client's own: the header is declared only on the operations
  -- that have model versions, and one sent elsewhere is a caller's mistake.
  { rule = "check_model_version: no header where none is declared", type = "value_error.extra",
    at = "^header%.x%-model%-version$",
    source = "API-NOTES §1.3 [SPEC]: x-model-version is not declared on expand, fill, object composite",
    witness = { op = "fill_image",
      body = { image = { source = { uploadId = UPLOAD } }, mask = { source = { uploadId = UPLOAD } } },
      opts = { model_version = "image3" } } },
}
