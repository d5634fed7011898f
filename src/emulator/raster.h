/*
** raster.h: what upscale and the composites do to pixels, PNG in, PNG out.
** Plain C (png.c, pngread.c): no Lua, no libmicrohttpd.
*/
#ifndef FIREFLY_EMULATOR_RASTER_H
#define FIREFLY_EMULATOR_RASTER_H

#include <stddef.h>

struct raster_input {
  const unsigned char *png; /* NULL: absent */
  size_t len;
};

/* The image enlarged `factor` times (nearest neighbour). 0, or -1. */
int raster_upscale(struct raster_input img, unsigned factor, unsigned char **out, size_t *out_len);

/*
** The background with the object pasted into the mask's white area: the
** object is fitted (aspect kept, centred) into the mask's bounding box and
** drawn where the mask, the object's alpha and the optional object mask are
** all at least half on. The output has the background's size. 0, or -1.
*/
int raster_composite(struct raster_input background, struct raster_input mask,
                     struct raster_input object, struct raster_input object_mask,
                     unsigned char **out, size_t *out_len);

#endif
