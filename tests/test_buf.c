/* The byte buffer: growth, form encoding, moves. */
#include <string.h>

#include "buf.h"
#include "check.h"

static void appends_grow_and_stay_terminated(void) {
  ff_buf b = FF_BUF_INIT;
  int i;
  for (i = 0; i < 1000; i++) CHECK(ff_buf_appends(&b, "abc") == 0);
  CHECK(b.len == 3000);
  CHECK(b.data[b.len] == '\0');
  CHECK(memcmp(b.data + 2997, "abc", 3) == 0);
  ff_buf_free(&b);
  CHECK(b.data == NULL && b.len == 0);
}

static void form_encoding_escapes_everything_but_unreserved(void) {
  ff_buf b = FF_BUF_INIT;
  CHECK(ff_buf_urlencode(&b, "a-b_c.d~e") == 0);
  CHECK(strcmp(b.data, "a-b_c.d~e") == 0);
  ff_buf_reset(&b);
  CHECK(ff_buf_urlencode(&b, "p&s=1 +/%") == 0);
  CHECK(strcmp(b.data, "p%26s%3D1%20%2B%2F%25") == 0);
  ff_buf_reset(&b);
  CHECK(ff_buf_urlencode(&b, "openid,AdobeID") == 0);
  CHECK(strcmp(b.data, "openid%2CAdobeID") == 0);
  ff_buf_free(&b);
}

static void move_hands_over_ownership(void) {
  ff_buf a = FF_BUF_INIT, b = FF_BUF_INIT;
  ff_buf_appends(&a, "payload");
  ff_buf_move(&b, &a);
  CHECK(a.data == NULL && a.len == 0);
  CHECK(strcmp(b.data, "payload") == 0);
  ff_buf_free(&b);
}

static void strlcpy_truncates_safely(void) {
  char small[4];
  ff_strlcpy(small, "abcdef", sizeof small);
  CHECK(strcmp(small, "abc") == 0);
  ff_strlcpy(small, NULL, sizeof small);
  CHECK(small[0] == '\0');
}

int main(void) {
  appends_grow_and_stay_terminated();
  form_encoding_escapes_everything_but_unreserved();
  move_hands_over_ownership();
  strlcpy_truncates_safely();
  return CHECK_DONE();
}
