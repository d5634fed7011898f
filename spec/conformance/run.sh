#!/bin/sh
# Runs the Prism conformance checks alone (what spec/conformance_spec.lua runs).
#   spec/conformance/run.sh            (from anywhere; builds nothing, installs Prism if missing)
#   CONFORMANCE_VERBOSE=1 spec/conformance/run.sh   also prints Prism's whole log
#   LUA=luajit spec/conformance/run.sh              drive it with another interpreter
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
[ -d "$here/node_modules/@stoplight/prism-cli" ] || npm ci --prefix "$here" --no-audit --no-fund
eval "$(make -s env)"
export LUA_PATH="$root/spec/?.lua;$LUA_PATH"
LUA=${LUA:-lua5.4}
case "$LUA" in luajit*) export LUA_CPATH="$root/${BUILD:-build}/lib/jit/?.so;;" ;; esac
exec "$LUA" -e '
local ok = true
for _, name in ipairs { "current", "sync" } do
  local m = require("conformance." .. name)
  local report = m.run()
  print((m.format or require("conformance.driver").format)(report))
  ok = ok and report.ok
end
os.exit(ok and 0 or 1)'
