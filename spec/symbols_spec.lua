-- core.so exports luaopen_firefly_core and nothing else: the engine's ff_*
-- functions are internal, and a host that links other C code beside the
-- module (LÖVE, an editor) must never have a name of ours bind to its own.
local function nm_available()
  local ok = os.execute("command -v nm >/dev/null 2>&1")
  return ok == true or ok == 0
end

-- package.searchpath is 5.2+; 5.1 and LuaJIT walk package.cpath the same way.
local searchpath = package.searchpath or function(name, path)
  for pattern in path:gmatch("[^;]+") do
    local file = pattern:gsub("%?", (name:gsub("%.", "/")))
    local f = io.open(file, "rb")
    if f then f:close() return file end
  end
  return nil
end

describe("core.so", function()
  local check = nm_available() and it or pending
  check("exports luaopen_firefly_core and no other symbol", function()
    local path = assert(searchpath("firefly.core", package.cpath), "firefly.core not on package.cpath")
    local p = assert(io.popen("env -u LD_PRELOAD nm -D --defined-only '" .. path .. "' 2>&1"))
    -- The linker's own markers are in every shared object.
    local toolchain = { _init = true, _fini = true, __bss_start = true, _edata = true, _end = true }
    local exported = {}
    for line in p:lines() do
      local name = line:match("^%x*%s+%a%s+(%S+)$")
      if name and not toolchain[name] then exported[#exported + 1] = name end
    end
    p:close()
    table.sort(exported)
    assert.are.same({ "luaopen_firefly_core" }, exported)
  end)
end)
