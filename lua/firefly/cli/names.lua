-- Output file names from untrusted parts (a row's `name`, a prompt, a seed):
-- plain ASCII words joined by dashes, never a path separator, never "..",
-- so a name can never leave the output directory.

local names = {}

-- "x", "../../etc/passwd" -> "x-etc-passwd"; nothing usable -> "output".
function names.safe(...)
  local parts = {}
  for _, p in ipairs { ... } do
    local s = tostring(p):gsub("[^%w_-]+", "-"):gsub("^-+", ""):gsub("-+$", "")
    if s ~= "" then parts[#parts + 1] = s:sub(1, 60) end
  end
  local name = table.concat(parts, "-")
  return name ~= "" and name or "output"
end

-- A short slug of a prompt: its first few words, lower case, at most 40 characters.
function names.slug(text)
  local words = {}
  for w in tostring(text or ""):lower():gmatch("[%w]+") do
    if #words == 6 then break end
    words[#words + 1] = w
  end
  local s = table.concat(words, "-"):sub(1, 40):gsub("-+$", "")
  return s ~= "" and s or nil
end

-- The first of base, base-2, base-3 ... (each followed by ext) that `taken(name)`
-- does not hold; the caller then takes it.
function names.unique(base, ext, taken)
  local name, n = base .. ext, 1
  while taken(name) do
    n = n + 1
    name = base .. "-" .. n .. ext
  end
  return name
end

return names
