-- A tiny ISO-BMFF (MP4) writer for the emulator's video outputs: one video
-- track whose samples are PNG frames (sample entry 'png ', as QuickTime and
-- FFmpeg know it), one frame a second. Deterministic: the same frames give
-- the same bytes (all timestamps are zero). ffprobe opens it; it is a
-- placeholder, not a real encode.
local mp4 = {}

local pack = string.pack

local function box(kind, ...)
  local payload = table.concat({ ... })
  return pack(">I4", 8 + #payload) .. kind .. payload
end

local function full_box(kind, version, flags, ...)
  return box(kind, pack(">I1I3", version, flags), ...)
end

-- The identity transform, in 16.16 / 2.30 fixed point.
local MATRIX = pack(">i4i4i4i4i4i4i4i4i4", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)

local function sample_table(width, height, frames, chunk_offset)
  local entry = box("png ",
    string.rep("\0", 6), pack(">I2", 1),            -- reserved, data_reference_index
    pack(">I2I2", 0, 0), string.rep("\0", 12),     -- pre_defined, reserved, pre_defined
    pack(">I2I2", width, height),
    pack(">I4I4I4I2", 0x00480000, 0x00480000, 0, 1), -- 72 dpi, reserved, frame_count
    pack(">s1", "firefly-emulator") .. string.rep("\0", 31 - #"firefly-emulator"),
    pack(">I2i2", 0x18, -1))                        -- depth, pre_defined
  local sizes = {}
  for i, f in ipairs(frames) do sizes[i] = pack(">I4", #f) end
  return box("stbl",
    full_box("stsd", 0, 0, pack(">I4", 1), entry),
    full_box("stts", 0, 0, pack(">I4I4I4", 1, #frames, 1)),
    full_box("stss", 0, 0, pack(">I4", #frames), (function()
      local t = {}
      for i = 1, #frames do t[i] = pack(">I4", i) end
      return table.concat(t)
    end)()),
    full_box("stsc", 0, 0, pack(">I4I4I4I4", 1, 1, #frames, 1)),
    full_box("stsz", 0, 0, pack(">I4I4", 0, #frames), table.concat(sizes)),
    full_box("stco", 0, 0, pack(">I4I4", 1, chunk_offset)))
end

-- frames: a list of PNG files (strings), shown one a second.
function mp4.write(width, height, frames)
  local seconds = #frames
  local ftyp = box("ftyp", "isom", pack(">I4", 0x200), "isomiso2mp41")
  local data = table.concat(frames)
  local mdat = box("mdat", data)
  local chunk_offset = #ftyp + 8
  local mvhd = full_box("mvhd", 0, 0, pack(">I4I4I4I4", 0, 0, 1000, seconds * 1000),
    pack(">I4I2", 0x10000, 0x100), string.rep("\0", 10), MATRIX, string.rep("\0", 24), pack(">I4", 2))
  local tkhd = full_box("tkhd", 0, 3, pack(">I4I4I4I4I4", 0, 0, 1, 0, seconds * 1000),
    string.rep("\0", 8), pack(">I2I2I2I2", 0, 0, 0, 0), MATRIX,
    pack(">I4I4", width * 0x10000, height * 0x10000))
  local mdhd = full_box("mdhd", 0, 0, pack(">I4I4I4I4I2I2", 0, 0, 1, seconds, 0x55C4, 0))
  local hdlr = full_box("hdlr", 0, 0, pack(">I4", 0), "vide", string.rep("\0", 12), "VideoHandler\0")
  local minf = box("minf",
    full_box("vmhd", 0, 1, pack(">I2I2I2I2", 0, 0, 0, 0)),
    box("dinf", full_box("dref", 0, 0, pack(">I4", 1), full_box("url ", 0, 1))),
    sample_table(width, height, frames, chunk_offset))
  local moov = box("moov", mvhd, box("trak", tkhd, box("mdia", mdhd, hdlr, minf)))
  return ftyp .. mdat .. moov
end

return mp4
