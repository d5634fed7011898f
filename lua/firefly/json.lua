-- The module's own lua-cjson instance. A host that tunes its cjson
-- (encode_number_precision(3) turned seed 123456 into 123000, decode_max_depth(1)
-- failed every job) tunes the shared module table; cjson.new() is unaffected.
return require("cjson").new()
