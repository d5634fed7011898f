/*
** pngread.c: the PNG decoder behind upscale and the composites, which must
** show their inputs in their outputs. Non-interlaced, bit depth 8 or 16, any
** colour type (palette with tRNS included); anything else is refused and the
** caller draws a stand-in picture instead.
*/
#include "png.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t aux_be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int aux_paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/* Undo the five PNG filters in place, row by row (bpp: bytes per pixel). */
static int aux_unfilter(unsigned char *data, size_t rows, size_t stride, size_t bpp) {
  unsigned char *prev = NULL;
  for (size_t y = 0; y < rows; y++) {
    unsigned char *line = data + y * (stride + 1);
    unsigned char f = line[0], *cur = line + 1;
    for (size_t i = 0; i < stride; i++) {
      int a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
      int c = (prev && i >= bpp) ? prev[i - bpp] : 0;
      switch (f) {
        case 0: break;
        case 1: cur[i] = (unsigned char)(cur[i] + a); break;
        case 2: cur[i] = (unsigned char)(cur[i] + b); break;
        case 3: cur[i] = (unsigned char)(cur[i] + ((a + b) >> 1)); break;
        case 4: cur[i] = (unsigned char)(cur[i] + aux_paeth(a, b, c)); break;
        default: return -1;
      }
    }
    prev = cur;
  }
  return 0;
}

int png_decode(const unsigned char *d, size_t len, unsigned *width, unsigned *height,
               unsigned char **rgb, unsigned char **alpha) {
  if (len < 33 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(d + 12, "IHDR", 4) != 0)
    return -1;
  uint32_t w = aux_be32(d + 16), h = aux_be32(d + 20);
  unsigned depth = d[24], type = d[25], interlace = d[28];
  static const unsigned channels_of[7] = {1, 0, 3, 1, 2, 0, 4};
  if (w == 0 || h == 0 || w > PNG_MAX_SIDE || h > PNG_MAX_SIDE || interlace != 0 ||
      type > 6 || channels_of[type] == 0 || (depth != 8 && depth != 16) || (type == 3 && depth != 8))
    return -1;
  size_t ch = channels_of[type], bpp = ch * depth / 8, stride = (size_t)w * bpp;
  size_t raw_len = (stride + 1) * h;
  unsigned char *raw = malloc(raw_len), palette[256 * 3], trns[256];
  memset(palette, 0, sizeof palette);
  memset(trns, 255, sizeof trns);
  if (raw == NULL) return -1;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit(&z) != Z_OK) {
    free(raw);
    return -1;
  }
  z.next_out = raw;
  z.avail_out = (uInt)raw_len;
  int zrc = Z_OK;
  size_t pos = 8;
  while (pos + 12 <= len && zrc != Z_STREAM_END) {
    uint32_t clen = aux_be32(d + pos);
    const unsigned char *kind = d + pos + 4, *body = d + pos + 8;
    if (clen > len - pos - 12) break;
    if (memcmp(kind, "PLTE", 4) == 0 && clen <= sizeof palette) {
      memcpy(palette, body, clen);
    } else if (memcmp(kind, "tRNS", 4) == 0 && type == 3 && clen <= sizeof trns) {
      memcpy(trns, body, clen);
    } else if (memcmp(kind, "IDAT", 4) == 0) {
      z.next_in = (unsigned char *)body;
      z.avail_in = clen;
      zrc = inflate(&z, Z_NO_FLUSH);
      if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) break;
    } else if (memcmp(kind, "IEND", 4) == 0) {
      break;
    }
    pos += 12 + (size_t)clen;
  }
  int complete = z.avail_out == 0;
  inflateEnd(&z);
  if (!complete || aux_unfilter(raw, h, stride, bpp) != 0) {
    free(raw);
    return -1;
  }
  unsigned char *out = malloc((size_t)w * h * 3), *a = malloc((size_t)w * h);
  if (out == NULL || a == NULL) {
    free(raw);
    free(out);
    free(a);
    return -1;
  }
  size_t step = depth / 8; /* 16-bit samples: the high byte is enough */
  for (size_t y = 0; y < h; y++) {
    const unsigned char *line = raw + y * (stride + 1) + 1;
    for (size_t x = 0; x < w; x++) {
      const unsigned char *px = line + x * bpp;
      unsigned char *o = out + (y * w + x) * 3, *al = a + y * w + x;
      unsigned char s0 = px[0], s1 = ch > 1 ? px[step] : 0;
      switch (type) {
        case 0: o[0] = o[1] = o[2] = s0; *al = 255; break;
        case 4: o[0] = o[1] = o[2] = s0; *al = s1; break;
        case 3: memcpy(o, palette + 3 * s0, 3); *al = trns[s0]; break;
        default:
          o[0] = s0;
          o[1] = s1;
          o[2] = px[2 * step];
          *al = type == 6 ? px[3 * step] : 255;
      }
    }
  }
  free(raw);
  *width = w;
  *height = h;
  *rgb = out;
  *alpha = a;
  return 0;
}
