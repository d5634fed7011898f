/*
** One HTTP exchange with the API, through the engine: wait for a token, send
** with the API key and bearer token, and on a 401 fetch a new token and send
** once more. With auth off (output downloads) no credential is attached at
** all, and only then may redirects be followed: libcurl would carry custom
** headers such as x-api-key to whatever host a redirect names.
*/
#ifndef FF_CALL_H
#define FF_CALL_H

#include "auth.h"

typedef struct ff_call ff_call;
/* Exactly one of x (finished; the callee owns it now) and err (no token) is set. */
typedef void (*ff_call_done)(ff_call *c, ff_xfer *x, ff_error *err);

struct ff_call {
  ff_ctx *ctx;
  const char *method;
  char *url;
  ff_buf body;
  char *content_type;
  char *model_version;
  ff_retry_mode retry;
  int max_retries;     /* -1: the client's */
  int auth;
  int follow_redirects;
  int https_only;      /* no plain-HTTP URL, redirects included */
  FILE *file;
  FILE *source;        /* the body is read from this file instead (see ff_xfer), not owned */
  curl_off_t source_size;
  size_t max_body;
  int retry_oversize;  /* see ff_xfer */
  double min_rate;     /* see ff_xfer */
  double rate_grace;
  double timeout;
  ff_call_done done;
  void *ud;
  /* Internal. */
  ff_auth_waiter waiter;
  unsigned gen;
  int refreshed;
  ff_xfer *x;
};

void ff_call_init(ff_call *c, ff_ctx *ctx, ff_call_done done, void *ud);
/* Copies what it is given. Returns -1 when memory runs out. */
int ff_call_set(ff_call *c, const char *method, const char *url, const char *body, size_t len,
                const char *content_type);
/* 0: under way, done comes later (never from inside this call). -1: err says why. */
int ff_call_send(ff_call *c, ff_error *err);
int ff_call_busy(const ff_call *c);
/* Body bytes the attempt on the wire has sent so far. */
curl_off_t ff_call_sent(const ff_call *c);
/* Drops whatever is in flight; done is not called. */
void ff_call_abort(ff_call *c);
void ff_call_free(ff_call *c);

#endif
