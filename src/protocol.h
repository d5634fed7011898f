/*
** What the protocol layer (auth, requests, jobs) shares: the error it reports,
** the events it emits, and the decoder the binding lends it. The protocol
** layer never parses JSON itself: it asks the decoder for the few fields it
** needs (token and expiry; job id, URLs, status and progress).
*/
#ifndef FF_PROTOCOL_H
#define FF_PROTOCOL_H

#include <stdint.h>

#include "buf.h"
#include "engine.h"

typedef enum ff_errkind {
  FF_E_NONE = 0,
  FF_E_VALIDATION,
  FF_E_AUTH,
  FF_E_RATE_LIMITED,
  FF_E_HTTP,
  FF_E_TIMEOUT,
  FF_E_TRANSPORT,
  FF_E_JOB_FAILED,
  FF_E_CANCELED,
  FF_E_CONTENT_POLICY,  /* Adobe's 451: the content policy refused an input or a prompt */
  FF_E_UNKNOWN_OUTCOME, /* a submit that may or may not have been accepted */
  FF_E_IO,
  FF_E_NOMEM
} ff_errkind;

const char *ff_errkind_name(ff_errkind k);

typedef struct ff_error {
  ff_errkind kind;
  long status;         /* HTTP status, 0 when there was none */
  int attempts;
  double retry_after;  /* seconds, -1 when none */
  char message[256];   /* our words; the server's come from body */
  char request_id[128];
  char job_id[256];
  ff_buf body;         /* the server's error body or job document, for the binding to read */
} ff_error;

void ff_error_init(ff_error *err);
void ff_error_free(ff_error *err);
void ff_error_set(ff_error *err, ff_errkind kind, const char *fmt, ...);
/* Fills err from a finished transfer that did not succeed; takes its body. */
void ff_error_from_xfer(ff_error *err, ff_xfer *x);
void ff_error_copy(ff_error *dst, const ff_error *src);

typedef struct ff_jobdoc {
  char status[32];
  double progress; /* -1 when absent */
} ff_jobdoc;

typedef struct ff_accept {
  char job_id[256];
  char *status_url; /* malloc'd by the decoder, freed by the caller */
  char *cancel_url;
  double progress;  /* the links shape's percentage, 0 to 100; -1 when absent */
} ff_accept;

/* Each returns 0, or -1 when the document lacks what is needed. */
typedef struct ff_decoder {
  void *ud;
  int (*token)(void *ud, const char *json, size_t len, char **token, double *expires_in);
  int (*accept)(void *ud, const char *json, size_t len, ff_accept *out);
  int (*jobdoc)(void *ud, const char *json, size_t len, ff_jobdoc *out);
} ff_decoder;

typedef enum ff_evtype {
  FF_EV_ACCEPTED, /* a job was accepted: job_id, status_url, cancel_url */
  FF_EV_STATUS,   /* a job's status or progress changed */
  FF_EV_DONE,     /* finished well: body is the job document, response, or bytes */
  FF_EV_ERROR,    /* finished badly: err */
  FF_EV_SENT      /* an upload's body went on: sent of total bytes (it is not finished) */
} ff_evtype;

#define FF_STAMP_LEN 96 /* "size:mtime_ns:dev:ino" */

typedef struct ff_event {
  struct ff_event *next;
  ff_evtype type;
  uint64_t handle;
  char status[32];
  double progress;
  char job_id[256];
  char *status_url;
  char *cancel_url;
  long http_status;
  char request_id[128];
  char content_type[128];
  ff_buf body;
  char *path;     /* a finished download's file ... */
  int ends;       /* ... and when it was a download, its first and last bytes (src/engine.h) ... */
  unsigned char head[32], tail[16];
  unsigned nhead, ntail;
  long long size; /* ... and its length */
  long long sent, total; /* FF_EV_SENT; total is also a hashed file's size */
  char stamp[FF_STAMP_LEN]; /* a hashed file's version (src/files.h's ff_file_stamp) */
  ff_error err;
} ff_event;

ff_event *ff_event_new(ff_evtype type, uint64_t handle);
void ff_event_free(ff_event *ev);

/* The settings and services every protocol object reaches through. */
typedef struct ff_ctx {
  ff_engine *engine;
  struct ff_auth *auth;
  ff_decoder *dec;
  const char *api_key;
  const char *api_url;    /* its origin gets credentials (ff_cred_allowed) */
  const struct ff_origin *api_origin; /* api_url's origin, read once (NULL: no api_url) */
  const char *api_hosts;  /* and so do these entries (NULL: none) */
  double request_timeout;
  double poll_first;  /* the first poll, seconds after a job is accepted */
  double poll_max;    /* the longest wait between polls */
  struct ff_ratelimit *limit; /* every job submit passes it */
  int retry_unknown_outcome; /* resend a submit whose outcome is unknown, once */
  int debug;
  void (*emit)(struct ff_ctx *ctx, ff_event *ev); /* takes ownership */
  /* An operation has nothing left in flight and may be freed (after the step). */
  void (*release)(struct ff_ctx *ctx, uint64_t handle);
} ff_ctx;

#endif
