-- What an image file is, from its first bytes: the media type Firefly's upload
-- takes (image/png, image/jpeg, image/webp) and, when the header says, its
-- pixel size. The client picks the upload's Content-Type with it; the emulator
-- refuses a body that is not what its Content-Type claims and learns the size
-- a fill result must have. Arithmetic only (no bit operators), so it runs on
-- Lua 5.1 to 5.4 and LuaJIT.

local media = {}

-- The types Adobe's upload endpoint declares (API-NOTES §3.7).
media.TYPES = { "image/jpeg", "image/png", "image/webp" }

-- Adobe's limit for one upload: "15MB" [SPEC upload]; read as 15 MiB [GUESS].
media.MAX_UPLOAD = 15 * 1024 * 1024

local function be16(s, i)
  local a, b = s:byte(i, i + 1)
  return a * 256 + b
end

local function be32(s, i)
  local a, b, c, d = s:byte(i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function le16(s, i)
  local a, b = s:byte(i, i + 1)
  return b * 256 + a
end

local function le24(s, i)
  local a, b, c = s:byte(i, i + 2)
  return (c * 256 + b) * 256 + a
end

local function png_size(s)
  if #s < 24 or s:sub(13, 16) ~= "IHDR" then return nil end
  return be32(s, 17), be32(s, 21)
end

-- Walks the JPEG markers to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC).
local function jpeg_size(s)
  local i = 3
  while i + 8 <= #s do
    if s:byte(i) ~= 0xFF then return nil end
    local marker = s:byte(i + 1)
    if marker == 0xFF then
      i = i + 1
    elseif marker == 0xD8 or marker == 0x01 or (marker >= 0xD0 and marker <= 0xD7) then
      i = i + 2
    else
      if marker >= 0xC0 and marker <= 0xCF and marker ~= 0xC4 and marker ~= 0xC8 and marker ~= 0xCC then
        return be16(s, i + 7), be16(s, i + 5)
      end
      i = i + 2 + be16(s, i + 2)
    end
  end
  return nil
end

local function webp_size(s)
  local chunk = s:sub(13, 16)
  if chunk == "VP8 " and #s >= 30 then
    return le16(s, 27) % 0x4000, le16(s, 29) % 0x4000
  elseif chunk == "VP8L" and #s >= 25 then
    local b0, b1, b2, b3 = s:byte(22, 25)
    local w = 1 + b0 + (b1 % 64) * 256
    local h = 1 + math.floor(b1 / 64) + b2 * 4 + (b3 % 16) * 1024
    return w, h
  elseif chunk == "VP8X" and #s >= 30 then
    return 1 + le24(s, 25), 1 + le24(s, 28)
  end
  return nil
end

-- media type, width, height (the size is nil when the header does not say);
-- nil when the bytes are none of the three types.
function media.sniff(bytes)
  if type(bytes) ~= "string" then return nil end
  if bytes:sub(1, 8) == "\137PNG\r\n\26\n" then
    return "image/png", png_size(bytes)
  elseif bytes:sub(1, 3) == "\255\216\255" then
    return "image/jpeg", jpeg_size(bytes)
  elseif bytes:sub(1, 4) == "RIFF" and bytes:sub(9, 12) == "WEBP" then
    return "image/webp", webp_size(bytes)
  end
  return nil
end

function media.accepted(mime)
  for _, t in ipairs(media.TYPES) do
    if t == mime then return true end
  end
  return false
end

return media
