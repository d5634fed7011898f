-- What an image file is, from its first bytes: the media type Firefly's upload
-- takes (image/png, image/jpeg, image/webp, image/tiff, image/jxl) and, when
-- the header says, its
-- pixel size. The client picks the upload's Content-Type with it; the emulator
-- refuses a body that is not what its Content-Type claims and learns the size
-- a fill result must have. Arithmetic only (no bit operators), so it runs on
-- Lua 5.1 to 5.4 and LuaJIT.

local media = {}

-- The types Adobe's upload endpoint declares (API-NOTES §3.7; TIFF and JPEG XL
-- since the 2026 document, §10.2).
media.TYPES = { "image/jpeg", "image/png", "image/webp", "image/tiff", "image/jxl" }

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

-- The first chunk must be a 13-byte IHDR (PNG spec 11.2.2).
local function png_size(s)
  if #s < 24 or be32(s, 9) ~= 13 or s:sub(13, 16) ~= "IHDR" then return nil end
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
    if s:sub(24, 26) ~= "\157\1\42" then return nil end -- a key frame's start code (RFC 6386 9.1)
    return le16(s, 27) % 0x4000, le16(s, 29) % 0x4000
  elseif chunk == "VP8L" and #s >= 25 then
    if s:byte(21) ~= 0x2f then return nil end -- the lossless signature byte
    local b0, b1, b2, b3 = s:byte(22, 25)
    local w = 1 + b0 + (b1 % 64) * 256
    local h = 1 + math.floor(b1 / 64) + b2 * 4 + (b3 % 16) * 1024
    return w, h
  elseif chunk == "VP8X" and #s >= 30 then
    return 1 + le24(s, 25), 1 + le24(s, 28)
  end
  return nil
end

-- TIFF: the first IFD's ImageWidth (256) and ImageLength (257), SHORT or LONG.
local function tiff_size(s)
  local le = s:sub(1, 2) == "II"
  local function u16(i) return le and le16(s, i) or be16(s, i) end
  local function u32(i)
    if le then return le16(s, i) + le16(s, i + 2) * 65536 end
    return be32(s, i)
  end
  if #s < 8 then return nil end
  local ifd = u32(5) + 1
  if ifd + 2 > #s then return nil end
  local w, h
  for k = 0, u16(ifd) - 1 do
    local e = ifd + 2 + 12 * k
    if e + 12 > #s + 1 then break end
    local tag, kind = u16(e), u16(e + 2)
    local v = kind == 3 and u16(e + 8) or u32(e + 8)
    if tag == 256 then w = v elseif tag == 257 then h = v end
  end
  if w and h then return w, h end
  return nil
end

-- JPEG XL: the codestream's SizeHeader (ISO/IEC 18181-1 D.2), read bit by bit,
-- least significant first; in the ISOBMFF container, from its jxlc box.
local JXL_RATIOS = { { 1, 1 }, { 12, 10 }, { 4, 3 }, { 3, 2 }, { 16, 9 }, { 5, 4 }, { 2, 1 } }

local function jxl_codestream_size(s, at)
  local pos = 0
  local function bits(n)
    local v, m = 0, 1
    for _ = 1, n do
      local byte = s:byte(at + math.floor(pos / 8))
      if byte == nil then return nil end
      if math.floor(byte / 2 ^ (pos % 8)) % 2 == 1 then v = v + m end
      m, pos = m * 2, pos + 1
    end
    return v
  end
  local function u32()
    local sel = bits(2)
    local n = ({ 9, 13, 18, 30 })[sel + 1]
    return 1 + bits(n)
  end
  local h, w
  if bits(1) == 1 then h = 8 * (1 + bits(5)) else h = u32() end
  local ratio = bits(3)
  if ratio == 0 then
    if bits(1) == 1 then w = 8 * (1 + bits(5)) else w = u32() end
  else
    local r = JXL_RATIOS[ratio]
    w = math.floor(h * r[1] / r[2])
  end
  return w, h
end

local JXL_BOX = "\0\0\0\12JXL \r\n\135\n"

local function jxl_size(s)
  if s:sub(1, 2) == "\255\10" then return jxl_codestream_size(s, 3) end
  local i = 1
  while i + 8 <= #s do
    local len, kind = be32(s, i), s:sub(i + 4, i + 7)
    if kind == "jxlc" then return jxl_codestream_size(s, i + 10) end
    if len < 8 then return nil end
    i = i + len
  end
  return nil
end

-- The signatures known, and the header reader of each.
local KINDS = {
  { mime = "image/png", name = "PNG", size = png_size,
    test = function(s) return s:sub(1, 8) == "\137PNG\r\n\26\n" end },
  { mime = "image/jpeg", name = "JPEG", size = jpeg_size, test = function(s) return s:sub(1, 3) == "\255\216\255" end },
  { mime = "image/webp", name = "WEBP", size = webp_size,
    test = function(s) return s:sub(1, 4) == "RIFF" and s:sub(9, 12) == "WEBP" end },
  { mime = "image/tiff", name = "TIFF", size = tiff_size,
    test = function(s) return s:sub(1, 4) == "II*\0" or s:sub(1, 4) == "MM\0*" end },
  { mime = "image/jxl", name = "JPEG XL", size = jxl_size,
    test = function(s) return s:sub(1, 2) == "\255\10" or s:sub(1, 12) == JXL_BOX end },
}

local function kind_of(bytes)
  if type(bytes) ~= "string" then return nil end
  for _, k in ipairs(KINDS) do
    if k.test(bytes) then return k end
  end
  return nil
end

-- A reader runs over bytes anyone may hand in: one that runs off their end
-- (a cut JPEG XL header) means no size, never an error.
local function size_of(k, bytes)
  local ok, w, h = pcall(k.size, bytes)
  if ok then return w, h end
  return nil
end

-- media type, width, height (the size is nil when the header does not say);
-- nil when the bytes start with none of the known signatures.
function media.sniff(bytes)
  local k = kind_of(bytes)
  if not k then return nil end
  return k.mime, size_of(k, bytes)
end

-- The media type of a whole image, or nil and why not: the signature, then
-- the header behind it (a PNG's IHDR, a JPEG's start of frame, a WEBP's
-- VP8 frame header, a TIFF's first IFD, a JPEG XL SizeHeader) naming a size
-- of at least one pixel. Eight bytes of PNG
-- signature are not an image.
function media.check(bytes)
  local k = kind_of(bytes)
  if not k or not media.accepted(k.mime) then
    return nil, ("not a %s image (Firefly's upload takes only those)"):format(media.names())
  end
  local w, h = size_of(k, bytes)
  if not (w and h and w > 0 and h > 0) then
    return nil, ("not a whole %s image: its header is missing or broken"):format(k.name)
  end
  return k.mime
end

local function le32(s, i)
  local a, b, c, d = s:byte(i, i + 3)
  return ((d * 256 + c) * 256 + b) * 256 + a
end

-- Whether a file of `size` bytes, starting with `head` (its first 16 bytes or
-- more) and ending with `tail` (its last 16), is whole by its own account: a
-- PNG ends with IEND, a JPEG with its end-of-image marker, a WEBP is as long
-- as its RIFF header says. A body cut short, or one whose Content-Length
-- promised less than the server had, fails this however the transfer ended.
-- Other types (video) are taken as they came: nil, or false and why.
function media.whole(head, tail, size)
  local k = kind_of(head)
  if not k or #head < 12 or #tail < 12 then return true end
  if k.mime == "image/png" and tail:sub(-12) ~= "\0\0\0\0IEND\174\66\96\130" then
    return false, "the PNG has no end chunk (IEND)"
  elseif k.mime == "image/jpeg" and tail:sub(-2) ~= "\255\217" then
    return false, "the JPEG has no end-of-image marker"
  elseif k.mime == "image/webp" and le32(head, 5) + 8 + le32(head, 5) % 2 ~= size then
    return false, ("the WEBP says it is %d bytes, not %d"):format(le32(head, 5) + 8, size)
  end
  return true
end

-- "JPEG, PNG or WEBP": the accepted types as people name them, in TYPES' order
-- (TIFF and JPEG XL join them once TYPES takes them).
function media.names()
  local names = {}
  for _, mime in ipairs(media.TYPES) do
    local name = mime
    for _, k in ipairs(KINDS) do
      if k.mime == mime then name = k.name end
    end
    names[#names + 1] = name
  end
  local last = table.remove(names)
  return #names > 0 and table.concat(names, ", ") .. " or " .. last or last
end

function media.accepted(mime)
  for _, t in ipairs(media.TYPES) do
    if t == mime then return true end
  end
  return false
end

return media
