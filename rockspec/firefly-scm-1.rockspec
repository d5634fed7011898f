-- Builds and installs firefly from a checkout:
--   luarocks --lua-version=5.4 make --deps-mode=none rockspec/firefly-scm-1.rockspec
-- (--deps-mode=none because Debian's lua-cjson is a Debian package, not a
-- rock: LuaRocks cannot see it and would try to download it.)
-- The released rockspec beside it (firefly-<version>-1.rockspec) is generated
-- from this file and lua/firefly/version.lua by tools/rockspec.lua.
rockspec_format = "3.0"
package = "firefly"
version = "scm-1"

source = {
  url = "git+https://github.com/firefly-lua/firefly.git",
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
  homepage = "https://github.com/firefly-lua/firefly",
  license = "MIT",
  labels = { "adobe", "firefly", "image-generation", "http", "async" },
}

dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}

-- libcurl is the client's one system library. The emulator is built where
-- Lua 5.4, libmicrohttpd and zlib are found (pkg-config, or the environment's
-- MICROHTTPD_INCDIR / MICROHTTPD_LIBDIR), and skipped otherwise.
-- On Debian: apt-get install libcurl4-openssl-dev libmicrohttpd-dev zlib1g-dev liblua5.4-dev
-- Only the library is named: LuaRocks looks for headers in DIR/include alone,
-- and Debian keeps curl/curl.h in include/<multiarch>, where CMake finds it.
external_dependencies = {
  CURL = { library = "curl" },
}

build = {
  type = "cmake",
  variables = {
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CMAKE_BUILD_TYPE = "Release",
    INSTALL_LMOD = "$(LUADIR)",
    INSTALL_CMOD = "$(LIBDIR)",
    INSTALL_BIN = "$(BINDIR)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    CURL_INCDIR = "$(CURL_INCDIR)",
    CURL_LIBDIR = "$(CURL_LIBDIR)",
  },
  -- The `firefly` command; LuaRocks wraps it to run with this rock's Lua and paths.
  install = { bin = { firefly = "bin/firefly" } },
  -- The lua-language-server definitions and the reference manual, kept with the rock.
  copy_directories = { "types", "docs" },
}
