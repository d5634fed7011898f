-- The release number, written here and nowhere else: firefly._VERSION, the
-- User-Agent, firefly.core.version (CMakeLists.txt reads this line), the
-- versioned rockspec (tools/rockspec.lua) and the manual all come from it.
return "0.2.0"
