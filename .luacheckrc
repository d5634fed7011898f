-- luacheck over lua/ bin/ spec/ examples/ bench/ tools/ (make lint; CI).
std = "max"                  -- the code runs on 5.1-5.4 and LuaJIT: unpack, table.unpack, jit
max_line_length = 120        -- as the project writes
self = false                 -- a method may ignore self (App:usage, Client:events)
codes = true

-- `not (x > y)` is how the schema checks refuse NaN, which `x <= y` would let through.
ignore = { "581" }

-- The emulator's behaviour runs in its embedded Lua 5.4.
files["lua/firefly/emulator/"] = { std = "lua54" }
-- Adobe's documents embedded as long strings (tools/import-openapi.lua writes them).
files["lua/firefly/openapi/"] = { max_line_length = false }

-- busted's globals for the specs and their helpers; LÖVE's for the game CI runs.
files["spec/"] = { std = "+busted" }
files["spec/hosts/love/"] = { std = "+love" }

exclude_files = {
  "spec/conformance/node_modules/",
  "build*/",
}
