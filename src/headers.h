/*
** Reading response header lines, the bytes a server controls before any
** body: which of the few headers the engine keeps a line is, and its value.
** Pure C on a buffer, apart from the transfer, so it can be fuzzed alone.
*/
#ifndef FF_HEADERS_H
#define FF_HEADERS_H

#include <stddef.h>

typedef enum ff_hdr {
  FF_HDR_OTHER,        /* any header the engine does not keep */
  FF_HDR_STATUS,       /* "HTTP/1.1 429 ..." starts a new response: *status is set */
  FF_HDR_REQUEST_ID,   /* x-request-id */
  FF_HDR_CONTENT_TYPE,
  FF_HDR_RETRY_AFTER
} ff_hdr;

/*
** Reads one line of len bytes (not NUL-terminated, CRLF included or not).
** For a kept header, copies its trimmed value into value[size] (always
** terminated, truncated to fit; size must be at least 1).
*/
ff_hdr ff_header_parse(const char *line, size_t len, long *status, char *value, size_t size);

#endif
