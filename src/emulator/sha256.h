/*
** SHA-256 (FIPS 180-4), for the emulator's log: each output it serves is
** logged with its digest, so a test can prove a saved file is byte-exact.
*/
#ifndef EMU_SHA256_H
#define EMU_SHA256_H

#include <stddef.h>

/* Writes the 64 lowercase hex digits and a NUL into hex. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
