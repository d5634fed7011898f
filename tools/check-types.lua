-- Checks a lua-language-server definition file beyond `luac -p`: every
-- annotation line is well formed, and every firefly.* type it names is defined
-- (a ---@class or ---@alias in the file). lua-language-server itself is not
-- packaged for Debian or npm, so this is the check CI can run.
--   lua5.4 tools/check-types.lua types/firefly.d.lua
local path = assert(arg[1], "usage: check-types.lua FILE")
local f = assert(io.open(path, "rb"))
local text = f:read("*a")
f:close()

local defined, used, bad = {}, {}, {}
local n = 0
for line in text:gmatch("[^\n]+") do
  n = n + 1
  local tag, rest = line:match("^%-%-%-@(%w+)%s*(.*)$")
  if tag then
    if tag == "class" then
      local name, parent = rest:match("^([%w_.]+)%s*:?%s*([%w_.]*)$")
      if not name then bad[#bad + 1] = n .. ": " .. line else
        defined[name] = true
        if parent ~= "" then used[#used + 1] = { parent, n } end
      end
    elseif tag == "alias" then
      local name, t = rest:match("^([%w_.]+)%s+(%S.*)$")
      if not name then bad[#bad + 1] = n .. ": " .. line else
        defined[name] = true
        used[#used + 1] = { t, n }
      end
    elseif tag == "field" or tag == "param" then
      local t = rest:match("^[%w_]+%??%s+(%S.*)$") or rest:match("^%.%.%.%s+(%S.*)$")
      if not t then bad[#bad + 1] = n .. ": " .. line else used[#used + 1] = { t, n } end
    elseif tag == "return" then
      used[#used + 1] = { rest, n }
    elseif tag ~= "meta" then
      bad[#bad + 1] = n .. ": unknown annotation @" .. tag
    end
  end
end
for _, u in ipairs(used) do
  -- A string literal may hold dots ("firefly 0.2.0"): names are looked for outside quotes.
  local code = u[1]:gsub('"[^"]*"', '""')
  for name in code:gmatch("firefly%.[%w_.]*[%w_]") do
    if not defined[name] then bad[#bad + 1] = u[2] .. ": " .. name .. " is used but never defined" end
  end
end
for _, need in ipairs { "firefly", "firefly.Client", "firefly.Options", "firefly.Error" } do
  if not defined[need] then bad[#bad + 1] = "no ---@class " .. need end
end
if #bad > 0 then
  io.stderr:write(path, ":\n  ", table.concat(bad, "\n  "), "\n")
  os.exit(1)
end
local count = 0
for _ in pairs(defined) do count = count + 1 end
print(("%s: %d classes and aliases, every type it names defined"):format(path, count))
