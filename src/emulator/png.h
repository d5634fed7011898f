/*
** png.h: a small, dependency-light PNG encoder for the emulator's output images.
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

#endif
