/*
** png.h: a small, dependency-light PNG encoder and decoder for the emulator's
** output images and the inputs it enlarges and composites.
** Plain C (zlib only): no Lua, no libmicrohttpd.
*/
#ifndef FIREFLY_EMULATOR_PNG_H
#define FIREFLY_EMULATOR_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Largest side png_picture accepts; Adobe's own limit is 4096. */
#define PNG_MAX_SIDE 8192

/*
** Render a deterministic picture (a gradient plus a few discs, all chosen by a
** hash of `seed`) as an 8-bit RGB PNG. On success returns 0 and sets *out to a
** malloc'd buffer of *out_len bytes that the caller frees; returns -1 on a bad
** size or when memory or zlib fails.
*/
int png_picture(unsigned width, unsigned height, uint32_t seed,
                unsigned char **out, size_t *out_len);

/* Encode `rgb` (width*height*3 bytes, rows top to bottom) the same way. */
int png_encode_rgb(unsigned width, unsigned height, const unsigned char *rgb,
                   unsigned char **out, size_t *out_len);

/*
** Decode an 8- or 16-bit, non-interlaced PNG of any colour type into RGB
** (*rgb, malloc'd) and an alpha plane (*alpha, malloc'd, 255 where the image
** has none). Returns 0, or -1 for what it cannot read (the caller falls back).
*/
int png_decode(const unsigned char *data, size_t len, unsigned *width, unsigned *height,
               unsigned char **rgb, unsigned char **alpha);

#endif
