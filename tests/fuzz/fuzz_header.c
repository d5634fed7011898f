/* libFuzzer: ff_header_parse reads every response header line a server sends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact-size copy, so ASan sees any read past the line's end. */
  char *line = malloc(size ? size : 1);
  char value[16];
  long status = -1;
  ff_hdr kind;
  if (line == NULL) return 0;
  memcpy(line, data, size);
  kind = ff_header_parse(line, size, &status, value, sizeof value);
  if (kind != FF_HDR_STATUS && kind != FF_HDR_OTHER && strlen(value) >= sizeof value) abort();
  if (kind == FF_HDR_STATUS && (status < 0 || status > 999)) abort();
  free(line);
  return 0;
}
