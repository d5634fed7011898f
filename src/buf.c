#include "buf.h"

#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the terminator. */
int ff_buf_reserve(ff_buf *b, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *data;
    while (cap < b->len + n + 1) {
      if (cap > ((size_t)-1) / 2) return -1;
      cap *= 2;
    }
    data = realloc(b->data, cap);
    if (data == NULL) return -1;
    b->data = data;
    b->cap = cap;
  }
  return 0;
}

int ff_buf_append(ff_buf *b, const void *p, size_t n) {
  if (n == 0) return 0;
  if (ff_buf_reserve(b, n)) return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0'; /* always a C string too, for headers and messages */
  return 0;
}

int ff_buf_appends(ff_buf *b, const char *s) {
  return ff_buf_append(b, s, strlen(s));
}

/*
** application/x-www-form-urlencoded, as the IMS token form needs. Adobe's own
** SDK concatenates without encoding, which breaks secrets holding '&' or '+'.
*/
int ff_buf_urlencode(ff_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    char esc[3];
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      if (ff_buf_append(b, s, 1)) return -1;
      continue;
    }
    esc[0] = '%';
    esc[1] = hex[ch >> 4];
    esc[2] = hex[ch & 15];
    if (ff_buf_append(b, esc, 3)) return -1;
  }
  return 0;
}

void ff_buf_reset(ff_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void ff_buf_free(ff_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Called through a volatile pointer: a memset just before free is otherwise a dead store. */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void ff_wipe(void *p, size_t n) {
  if (p && n) wipe_memset(p, 0, n);
}

void ff_buf_wipe(ff_buf *b) {
  ff_wipe(b->data, b->cap);
  ff_buf_free(b);
}

void ff_buf_move(ff_buf *dst, ff_buf *src) {
  ff_buf_free(dst);
  *dst = *src;
  src->data = NULL;
  src->len = src->cap = 0;
}

char *ff_strdup(const char *s) {
  size_t n;
  char *p;
  if (s == NULL) return NULL;
  n = strlen(s) + 1;
  p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

void ff_strlcpy(char *dst, const char *s, size_t size) {
  size_t n;
  if (size == 0) return;
  n = s ? strlen(s) : 0;
  if (n >= size) n = size - 1;
  if (n) memcpy(dst, s, n);
  dst[n] = '\0';
}
