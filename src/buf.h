/*
** A growable byte buffer with no Lua dependency (as lua-cjson's strbuf).
** Functions that grow it return 0, or -1 when memory runs out; the buffer is
** then left as it was.
*/
#ifndef FF_BUF_H
#define FF_BUF_H

#include <stddef.h>

typedef struct ff_buf {
  char *data;
  size_t len;
  size_t cap;
} ff_buf;

#define FF_BUF_INIT {NULL, 0, 0}

int ff_buf_append(ff_buf *b, const void *p, size_t n);
int ff_buf_appends(ff_buf *b, const char *s);
int ff_buf_urlencode(ff_buf *b, const char *s);
int ff_buf_reserve(ff_buf *b, size_t n);
void ff_buf_reset(ff_buf *b);
void ff_buf_free(ff_buf *b);
/* Zeroes every byte the buffer ever held, then frees it (for secrets). */
void ff_buf_wipe(ff_buf *b);
/* memset(p, 0, n) that the compiler may not drop as a dead store before free. */
void ff_wipe(void *p, size_t n);
/* Moves the contents out: *dst takes ownership, src is left empty. */
void ff_buf_move(ff_buf *dst, ff_buf *src);

/* strdup that reports failure instead of crashing on NULL input. */
char *ff_strdup(const char *s);
/* Copies s into dst[size], always terminated, truncating if needed. */
void ff_strlcpy(char *dst, const char *s, size_t size);

#endif
