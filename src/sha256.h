/*
** SHA-256 (FIPS 180-4), for the provenance manifest and the result cache's
** keys of local input files. Plain C, no Lua.
*/
#ifndef FF_SHA256_H
#define FF_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct ff_sha256 {
  uint32_t h[8];
  uint64_t len;
  unsigned char block[64];
  size_t used;
} ff_sha256;

void ff_sha256_init(ff_sha256 *s);
void ff_sha256_update(ff_sha256 *s, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL. */
void ff_sha256_hex(ff_sha256 *s, char out[65]);

#endif
