-- luacheck over lua/ bin/ spec/ examples/ bench/ tools/ (make lint; CI).
std = "max"                  -- the code runs on 5.1-5.4 and LuaJIT: unpack, table.unpack, jit
max_line_length = 120        -- as the project writes (a few tables are wider: see below)
codes = true

-- The emulator's behaviour runs in its embedded Lua 5.4.
files["lua/firefly/emulator/"] = { std = "lua54" }

-- busted's globals for the specs and their helpers.
files["spec/"] = { std = "+busted" }

exclude_files = {
  "spec/conformance/node_modules/",
  "build*/",
}
