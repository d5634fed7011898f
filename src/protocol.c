#include "protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ff_errkind_name(ff_errkind k) {
  switch (k) {
    case FF_E_VALIDATION: return "validation";
    case FF_E_AUTH: return "auth";
    case FF_E_RATE_LIMITED: return "rate_limited";
    case FF_E_HTTP: return "http";
    case FF_E_TIMEOUT: return "timeout";
    case FF_E_TRANSPORT: return "transport";
    case FF_E_JOB_FAILED: return "job_failed";
    case FF_E_CANCELED: return "canceled";
    case FF_E_CONTENT_POLICY: return "content_policy";
    case FF_E_UNKNOWN_OUTCOME: return "unknown_outcome";
    case FF_E_IO: return "io";
    case FF_E_NOMEM: return "out_of_memory";
    default: return "none";
  }
}

void ff_error_init(ff_error *err) {
  memset(err, 0, sizeof *err);
  err->retry_after = -1;
}

void ff_error_free(ff_error *err) {
  ff_buf_free(&err->body);
}

void ff_error_set(ff_error *err, ff_errkind kind, const char *fmt, ...) {
  va_list ap;
  err->kind = kind;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
}

void ff_error_copy(ff_error *dst, const ff_error *src) {
  ff_buf body = FF_BUF_INIT;
  /* The body is a courtesy; losing it to low memory still leaves a clear error. */
  if (src->body.len) ff_buf_append(&body, src->body.data, src->body.len);
  ff_buf_free(&dst->body);
  *dst = *src;
  dst->body = body;
}

void ff_error_from_xfer(ff_error *err, ff_xfer *x) {
  err->attempts = x->attempts;
  err->retry_after = x->retry_after;
  ff_strlcpy(err->request_id, x->request_id, sizeof err->request_id);
  if (x->too_large) {
    ff_error_set(err, FF_E_TRANSPORT, "response body larger than %zu bytes", x->max_body);
    return;
  }
  if (x->code != CURLE_OK) {
    ff_error_set(err, x->code == CURLE_OPERATION_TIMEDOUT ? FF_E_TIMEOUT : FF_E_TRANSPORT, "%s",
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->code));
    return;
  }
  err->status = x->status;
  ff_buf_move(&err->body, &x->response);
  if (x->status == 401 || x->status == 403)
    ff_error_set(err, FF_E_AUTH, "HTTP %ld", x->status);
  else if (x->status == 429)
    ff_error_set(err, FF_E_RATE_LIMITED, "HTTP 429: rate limited");
  else if (x->status == 422)
    ff_error_set(err, FF_E_VALIDATION, "HTTP 422: the server refused the request");
  else if (x->status == 451)
    ff_error_set(err, FF_E_CONTENT_POLICY, "HTTP 451: refused by Firefly's content policy");
  else
    ff_error_set(err, FF_E_HTTP, "HTTP %ld", x->status);
}

ff_event *ff_event_new(ff_evtype type, uint64_t handle) {
  ff_event *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return NULL;
  ev->type = type;
  ev->handle = handle;
  ev->progress = -1;
  ff_error_init(&ev->err);
  return ev;
}

void ff_event_free(ff_event *ev) {
  if (ev == NULL) return;
  free(ev->status_url);
  free(ev->cancel_url);
  free(ev->path);
  ff_buf_free(&ev->body);
  ff_error_free(&ev->err);
  free(ev);
}
