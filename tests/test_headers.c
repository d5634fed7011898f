/* Response header lines: the few the engine keeps, trimmed; everything else ignored. */
#include <string.h>

#include "check.h"
#include "headers.h"

#define LINE(s) s, sizeof(s) - 1

static void status_lines_start_a_response(void) {
  long status = 0;
  char v[32];
  CHECK(ff_header_parse(LINE("HTTP/1.1 429 Too Many Requests\r\n"), &status, v, sizeof v) == FF_HDR_STATUS);
  CHECK(status == 429);
  CHECK(ff_header_parse(LINE("HTTP/2 200\r\n"), &status, v, sizeof v) == FF_HDR_STATUS);
  CHECK(status == 200);
  CHECK(ff_header_parse(LINE("HTTP/1.1 20"), &status, v, sizeof v) == FF_HDR_STATUS);
  CHECK(status == 0); /* a cut status line reads as no status, never as garbage */
}

static void kept_headers_are_trimmed_and_case_blind(void) {
  long status = 0;
  char v[32];
  CHECK(ff_header_parse(LINE("Retry-After:  120 \r\n"), &status, v, sizeof v) == FF_HDR_RETRY_AFTER);
  CHECK(strcmp(v, "120") == 0);
  CHECK(ff_header_parse(LINE("X-REQUEST-ID:\tabc\r\n"), &status, v, sizeof v) == FF_HDR_REQUEST_ID);
  CHECK(strcmp(v, "abc") == 0);
  CHECK(ff_header_parse(LINE("content-type: image/png"), &status, v, sizeof v) == FF_HDR_CONTENT_TYPE);
  CHECK(strcmp(v, "image/png") == 0);
}

static void long_values_are_cut_to_fit(void) {
  long status = 0;
  char v[8];
  CHECK(ff_header_parse(LINE("x-request-id: 0123456789abcdef\r\n"), &status, v, sizeof v) == FF_HDR_REQUEST_ID);
  CHECK(strcmp(v, "0123456") == 0);
}

static void other_lines_are_ignored(void) {
  long status = 7;
  char v[8] = "keep";
  CHECK(ff_header_parse(LINE("Link: <https://x>; rel=\"result\"\r\n"), &status, v, sizeof v) == FF_HDR_OTHER);
  CHECK(ff_header_parse(LINE("\r\n"), &status, v, sizeof v) == FF_HDR_OTHER);
  CHECK(ff_header_parse(LINE("x-request-idx: no\r\n"), &status, v, sizeof v) == FF_HDR_OTHER);
  CHECK(status == 7 && strcmp(v, "keep") == 0);
}

int main(void) {
  status_lines_start_a_response();
  kept_headers_are_trimmed_and_case_blind();
  long_values_are_cut_to_fit();
  other_lines_are_ignored();
  return CHECK_DONE();
}
