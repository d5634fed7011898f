/*
** png.c: the emulator's picture generator and PNG encoder.
** Same seed and size, same bytes: tests compare files across runs.
*/
#include "png.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PNG_LEVEL 2         /* fast: a 2048x2048 picture in well under a second */
#define PNG_DISCS 3
#define PNG_HEAD (8 + 25 + 8) /* signature, IHDR chunk, IDAT length and type */

struct png_disc {
  double cx, cy, r;
  unsigned char rgb[3];
};

struct png_out {
  unsigned char *buf;
  size_t len, cap;
};

/*
** splitmix32-style mixer: every parameter of the picture is one call, so a
** one-bit change of the seed changes everything.
*/
static uint32_t aux_hash(uint32_t *state) {
  uint32_t z = (*state += 0x9e3779b9u);
  z = (z ^ (z >> 16)) * 0x85ebca6bu;
  z = (z ^ (z >> 13)) * 0xc2b2ae35u;
  return z ^ (z >> 16);
}

static void aux_put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* CRC over a chunk's type and data, which sit contiguously at `type`. */
static void aux_crc(unsigned char *type, size_t datalen) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, type, (uInt)(datalen + 4));
  aux_put32(type + 4 + datalen, (uint32_t)crc);
}

static int aux_grow(struct png_out *o, size_t need) {
  if (o->cap - o->len >= need) return 0;
  size_t cap = o->cap ? o->cap : 65536;
  while (cap - o->len < need) {
    if (cap > SIZE_MAX / 2) return -1;
    cap *= 2;
  }
  unsigned char *nb = realloc(o->buf, cap);
  if (nb == NULL) return -1;
  o->buf = nb;
  o->cap = cap;
  return 0;
}

/* Feed `len` bytes to deflate, growing the output as it fills. */
static int aux_deflate(z_stream *z, struct png_out *o, unsigned char *in,
                       size_t len, int flush) {
  z->next_in = in;
  z->avail_in = (uInt)len;
  for (;;) {
    if (aux_grow(o, 16384) != 0) return -1;
    z->next_out = o->buf + o->len;
    z->avail_out = (uInt)(o->cap - o->len);
    int rc = deflate(z, flush);
    o->len = o->cap - z->avail_out;
    if (rc == Z_STREAM_END) return 0;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return -1;
    if (z->avail_in == 0 && z->avail_out != 0 && flush == Z_NO_FLUSH) return 0;
  }
}

static void aux_row(unsigned char *row, unsigned width, unsigned height,
                    unsigned y, const unsigned char c0[3],
                    const unsigned char c1[3], double ax,
                    const struct png_disc *discs) {
  double fy = (double)y / (height > 1 ? height - 1 : 1);
  for (unsigned x = 0; x < width; x++) {
    double fx = (double)x / (width > 1 ? width - 1 : 1);
    double t = ax * fx + (1.0 - ax) * fy;
    for (int c = 0; c < 3; c++)
      row[3 * x + c] = (unsigned char)(c0[c] + t * (c1[c] - c0[c]));
  }
  /* Each disc covers one span of the row: no per-pixel distance test. */
  for (int i = 0; i < PNG_DISCS; i++) {
    double dy = (double)y - discs[i].cy;
    double h2 = discs[i].r * discs[i].r - dy * dy;
    if (h2 <= 0) continue;
    double half = sqrt(h2);
    double lo = ceil(discs[i].cx - half), hi = floor(discs[i].cx + half);
    if (lo < 0) lo = 0;
    if (hi > (double)width - 1) hi = (double)width - 1;
    for (long x = (long)lo; x <= (long)hi; x++)
      memcpy(row + 3 * x, discs[i].rgb, 3);
  }
}

/* Rows come from a callback: a picture is drawn row by row, never held whole. */
typedef void (*png_row_fn)(unsigned char *row, unsigned y, void *ctx);

static int aux_encode(unsigned width, unsigned height, png_row_fn fill, void *ctx,
                      unsigned char **out, size_t *out_len) {
  size_t stride = (size_t)width * 3;
  unsigned char *raw = malloc(stride);
  unsigned char *filtered = malloc(stride + 1);
  struct png_out o = {NULL, 0, 0};
  z_stream z;
  memset(&z, 0, sizeof z);
  int ok = raw != NULL && filtered != NULL && aux_grow(&o, PNG_HEAD) == 0 &&
           deflateInit(&z, PNG_LEVEL) == Z_OK;
  if (!ok) {
    free(raw);
    free(filtered);
    free(o.buf);
    return -1;
  }
  o.len = PNG_HEAD;

  /* Filter "Sub" (1): a gradient becomes runs of equal bytes. */
  filtered[0] = 1;
  for (unsigned y = 0; y < height && ok; y++) {
    fill(raw, y, ctx);
    memcpy(filtered + 1, raw, 3);
    for (size_t i = 3; i < stride; i++)
      filtered[1 + i] = (unsigned char)(raw[i] - raw[i - 3]);
    ok = aux_deflate(&z, &o, filtered, stride + 1, Z_NO_FLUSH) == 0;
  }
  if (ok) ok = aux_deflate(&z, &o, NULL, 0, Z_FINISH) == 0;
  deflateEnd(&z);
  free(raw);
  free(filtered);
  size_t zlen = o.len - PNG_HEAD;
  if (!ok || zlen > 0x7fffffffu || aux_grow(&o, 4 + 12) != 0) {
    free(o.buf);
    return -1;
  }

  unsigned char *p = o.buf;
  memcpy(p, "\x89PNG\r\n\x1a\n", 8);
  aux_put32(p + 8, 13);
  memcpy(p + 12, "IHDR", 4);
  aux_put32(p + 16, width);
  aux_put32(p + 20, height);
  p[24] = 8; /* bit depth */
  p[25] = 2; /* colour type: RGB */
  p[26] = 0; /* deflate */
  p[27] = 0; /* adaptive filtering */
  p[28] = 0; /* no interlace */
  aux_crc(p + 12, 13);
  aux_put32(p + 33, (uint32_t)zlen);
  memcpy(p + 37, "IDAT", 4);
  aux_crc(p + 37, zlen);
  o.len += 4;
  unsigned char *end = o.buf + o.len;
  aux_put32(end, 0);
  memcpy(end + 4, "IEND", 4);
  aux_crc(end + 4, 0);
  o.len += 12;
  *out = o.buf;
  *out_len = o.len;
  return 0;
}

struct png_scene {
  unsigned width, height;
  unsigned char c0[3], c1[3];
  double ax;
  struct png_disc discs[PNG_DISCS];
};

static void aux_scene_row(unsigned char *row, unsigned y, void *ctx) {
  struct png_scene *sc = ctx;
  aux_row(row, sc->width, sc->height, y, sc->c0, sc->c1, sc->ax, sc->discs);
}

int png_picture(unsigned width, unsigned height, uint32_t seed,
                unsigned char **out, size_t *out_len) {
  if (width == 0 || height == 0 || width > PNG_MAX_SIDE || height > PNG_MAX_SIDE)
    return -1;
  struct png_scene sc;
  uint32_t st = seed;
  sc.width = width;
  sc.height = height;
  for (int c = 0; c < 3; c++) sc.c0[c] = (unsigned char)aux_hash(&st);
  for (int c = 0; c < 3; c++) sc.c1[c] = (unsigned char)aux_hash(&st);
  sc.ax = (aux_hash(&st) % 1001) / 1000.0;
  unsigned side = width < height ? width : height;
  for (int i = 0; i < PNG_DISCS; i++) {
    sc.discs[i].cx = aux_hash(&st) % width;
    sc.discs[i].cy = aux_hash(&st) % height;
    sc.discs[i].r = side / 16.0 + (aux_hash(&st) % 1000) / 1000.0 * side / 5.0;
    for (int c = 0; c < 3; c++) sc.discs[i].rgb[c] = (unsigned char)aux_hash(&st);
  }
  return aux_encode(width, height, aux_scene_row, &sc, out, out_len);
}

struct png_rgb {
  unsigned width;
  const unsigned char *pixels;
};

static void aux_rgb_row(unsigned char *row, unsigned y, void *ctx) {
  struct png_rgb *r = ctx;
  memcpy(row, r->pixels + (size_t)y * r->width * 3, (size_t)r->width * 3);
}

int png_encode_rgb(unsigned width, unsigned height, const unsigned char *rgb,
                   unsigned char **out, size_t *out_len) {
  if (width == 0 || height == 0 || width > PNG_MAX_SIDE || height > PNG_MAX_SIDE)
    return -1;
  struct png_rgb r = {width, rgb};
  return aux_encode(width, height, aux_rgb_row, &r, out, out_len);
}
