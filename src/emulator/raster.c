/*
** raster.c: upscale and composite for the emulator. Nearest-neighbour and a
** plain paste: enough for an offline pipeline to see its inputs used (what
** Adobe's models do to the pixels is theirs alone).
*/
#include "raster.h"

#include <stdlib.h>
#include <string.h>

#include "png.h"

struct raster {
  unsigned w, h;
  unsigned char *rgb, *alpha;
};

static void aux_free(struct raster *r) {
  free(r->rgb);
  free(r->alpha);
  r->rgb = r->alpha = NULL;
}

static int aux_load(struct raster_input in, struct raster *r) {
  memset(r, 0, sizeof *r);
  if (in.png == NULL) return -1;
  return png_decode(in.png, in.len, &r->w, &r->h, &r->rgb, &r->alpha);
}

int raster_upscale(struct raster_input img, unsigned factor, unsigned char **out, size_t *out_len) {
  struct raster r;
  if (factor < 1 || aux_load(img, &r) != 0) return -1;
  if (r.w > PNG_MAX_SIDE / factor || r.h > PNG_MAX_SIDE / factor) {
    aux_free(&r);
    return -1;
  }
  unsigned W = r.w * factor, H = r.h * factor;
  unsigned char *big = malloc((size_t)W * H * 3);
  if (big == NULL) {
    aux_free(&r);
    return -1;
  }
  for (unsigned y = 0; y < H; y++)
    for (unsigned x = 0; x < W; x++)
      memcpy(big + ((size_t)y * W + x) * 3, r.rgb + ((size_t)(y / factor) * r.w + x / factor) * 3, 3);
  int rc = png_encode_rgb(W, H, big, out, out_len);
  free(big);
  aux_free(&r);
  return rc;
}

/* Luminance of a mask pixel at (x, y) of a w x h frame, the mask scaled to it. */
static unsigned aux_mask_at(const struct raster *m, unsigned x, unsigned y, unsigned w, unsigned h) {
  unsigned mx = (unsigned)((unsigned long long)x * m->w / w);
  unsigned my = (unsigned)((unsigned long long)y * m->h / h);
  const unsigned char *p = m->rgb + ((size_t)my * m->w + mx) * 3;
  return (p[0] * 30u + p[1] * 59u + p[2] * 11u) / 100u;
}

int raster_composite(struct raster_input background, struct raster_input mask,
                     struct raster_input object, struct raster_input object_mask,
                     unsigned char **out, size_t *out_len) {
  struct raster bg, m, obj, om;
  int have_om = object_mask.png != NULL, rc = -1;
  memset(&m, 0, sizeof m);
  memset(&obj, 0, sizeof obj);
  memset(&om, 0, sizeof om);
  if (aux_load(background, &bg) != 0) return -1;
  if (aux_load(mask, &m) != 0 || aux_load(object, &obj) != 0 ||
      (have_om && aux_load(object_mask, &om) != 0))
    goto done;
  /* The mask's bounding box, in background pixels. */
  unsigned x0 = bg.w, y0 = bg.h, x1 = 0, y1 = 0;
  for (unsigned y = 0; y < bg.h; y++)
    for (unsigned x = 0; x < bg.w; x++)
      if (aux_mask_at(&m, x, y, bg.w, bg.h) >= 128) {
        if (x < x0) x0 = x;
        if (y < y0) y0 = y;
        if (x > x1) x1 = x;
        if (y > y1) y1 = y;
      }
  if (x0 <= x1 && y0 <= y1) {
    /* Fit the object into the box, aspect kept, centred. */
    double bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    double s = bw / obj.w < bh / obj.h ? bw / obj.w : bh / obj.h;
    double ow = obj.w * s, oh = obj.h * s;
    double ox = x0 + (bw - ow) / 2, oy = y0 + (bh - oh) / 2;
    for (unsigned y = y0; y <= y1; y++)
      for (unsigned x = x0; x <= x1; x++) {
        double fx = (x - ox) / s, fy = (y - oy) / s;
        if (fx < 0 || fy < 0 || fx >= obj.w || fy >= obj.h) continue;
        unsigned sx = (unsigned)fx, sy = (unsigned)fy;
        size_t si = (size_t)sy * obj.w + sx;
        if (aux_mask_at(&m, x, y, bg.w, bg.h) < 128 || obj.alpha[si] < 128) continue;
        if (have_om && aux_mask_at(&om, sx, sy, obj.w, obj.h) < 128) continue;
        memcpy(bg.rgb + ((size_t)y * bg.w + x) * 3, obj.rgb + si * 3, 3);
      }
  }
  rc = png_encode_rgb(bg.w, bg.h, bg.rgb, out, out_len);
done:
  aux_free(&bg);
  aux_free(&m);
  aux_free(&obj);
  aux_free(&om);
  return rc;
}
