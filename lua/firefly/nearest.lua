-- The closest of some known names to one given, for "did you mean ...?":
-- unknown CLI commands, unknown body fields. Edit distance (Levenshtein).

local nearest = {}

function nearest.distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- The candidate nearest to `name` (case counts half: numvariations is near
-- numVariations), or nil when none is within `max` edits (default: 2, or a
-- third of the name's length for long names). `candidates` is a list or the
-- keys of a table.
function nearest.find(name, candidates, max)
  max = max or math.max(2, math.floor(#name / 3))
  local list = {}
  if #candidates > 0 then
    for i, k in ipairs(candidates) do list[i] = k end
  else
    for k in pairs(candidates) do list[#list + 1] = k end
  end
  table.sort(list) -- ties go the same way every run
  local best, score = nil, math.huge
  for _, k in ipairs(list) do
    local d = math.min(nearest.distance(k, name), nearest.distance(k:lower(), name:lower()) + 0.5)
    if d < score then best, score = k, d end
  end
  return score <= max and best or nil
end

return nearest
