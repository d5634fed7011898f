#include "headers.h"

#include <string.h>
#include <strings.h>

static void copy_value(char *dst, size_t size, const char *v, size_t len) {
  while (len > 0 && (*v == ' ' || *v == '\t')) v++, len--;
  while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' || v[len - 1] == '\t'))
    len--;
  if (len >= size) len = size - 1;
  memcpy(dst, v, len);
  dst[len] = '\0';
}

/* The status code after "HTTP/x ", read by hand: strtol would run past len. */
static long status_code(const char *p, size_t len) {
  const char *sp = memchr(p, ' ', len);
  long code = 0;
  size_t i, digits = 0;
  if (sp == NULL) return 0;
  for (i = (size_t)(sp + 1 - p); i < len && digits < 3 && p[i] >= '0' && p[i] <= '9'; i++, digits++)
    code = code * 10 + (p[i] - '0');
  return digits == 3 ? code : 0;
}

ff_hdr ff_header_parse(const char *line, size_t len, long *status, char *value, size_t size) {
  const char *colon;
  size_t name_len;
  if (len > 5 && memcmp(line, "HTTP/", 5) == 0) {
    *status = status_code(line, len);
    return FF_HDR_STATUS;
  }
  colon = memchr(line, ':', len);
  if (colon == NULL) return FF_HDR_OTHER;
  name_len = (size_t)(colon - line);
#define IS(name) (name_len == sizeof(name) - 1 && strncasecmp(line, name, sizeof(name) - 1) == 0)
  ff_hdr kind = IS("x-request-id") ? FF_HDR_REQUEST_ID
              : IS("content-type") ? FF_HDR_CONTENT_TYPE
              : IS("retry-after")  ? FF_HDR_RETRY_AFTER
                                   : FF_HDR_OTHER;
#undef IS
  if (kind != FF_HDR_OTHER) copy_value(value, size, colon + 1, len - name_len - 1);
  return kind;
}
