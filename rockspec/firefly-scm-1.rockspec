-- Builds and installs firefly from a checkout:
--   luarocks --lua-version=5.4 make --deps-mode=none rockspec/firefly-scm-1.rockspec
-- (--deps-mode=none because Debian's lua-cjson is a Debian package, not a
-- rock: LuaRocks cannot see it and would try to download it.)
rockspec_format = "3.0"
package = "firefly"
version = "scm-1"

source = {
  -- `luarocks make` builds the checkout it runs in and never fetches this.
  url = "git+https://example.invalid/firefly.git",
}

description = {
  summary = "Adobe Firefly Services from Lua, with a C core and a local emulator",
  detailed = [[
firefly generates images (and video) with Adobe Firefly Services from Lua.
A C core on libcurl drives any number of async jobs from one thread; Lua
calls block, yield inside coroutines, or advance with ff:step(0) from a host
loop that must not freeze. Ships firefly-emulator, a local stand-in for the
Firefly API, for offline pipeline development and tests.
]],
  labels = { "adobe", "firefly", "image-generation", "http", "async" },
}

dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}

-- libcurl, libmicrohttpd and zlib come from the system (pkg-config finds them);
-- on Debian: apt-get install libcurl4-openssl-dev libmicrohttpd-dev zlib1g-dev liblua5.4-dev
build = {
  type = "cmake",
  variables = {
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CMAKE_BUILD_TYPE = "Release",
    INSTALL_LMOD = "$(LUADIR)",
    INSTALL_CMOD = "$(LIBDIR)",
    INSTALL_BIN = "$(BINDIR)",
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
  -- The `firefly` command; LuaRocks wraps it to run with this rock's Lua and paths.
  install = { bin = { firefly = "bin/firefly" } },
}
