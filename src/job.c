#include "job.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define FF_POLL_MIN 0.2      /* never poll faster than this */
#define FF_BAD_DOCS_MAX 3    /* unreadable status documents tolerated in a row */
#define FF_CANCEL_POLL 0.5   /* after a cancel, look again soon */

static void on_call(ff_call *c, ff_xfer *x, ff_error *err);
static void on_cancel(ff_call *c, ff_xfer *x, ff_error *err);
static void on_timer(ff_timer *t);

ff_job *ff_job_new(ff_ctx *ctx, uint64_t handle, double timeout) {
  ff_job *j = calloc(1, sizeof *j);
  if (j == NULL) return NULL;
  if (ff_timer_reserve(ctx->engine) != 0) {
    free(j);
    return NULL;
  }
  j->ctx = ctx;
  j->handle = handle;
  j->timeout = timeout;
  j->progress = -1;
  j->timer.fire = on_timer;
  ff_call_init(&j->call, ctx, on_call, j);
  j->call.retry_oversize = 1; /* a status document past the cap is a fault of that poll, not the job's end */
  ff_call_init(&j->cancel, ctx, on_cancel, j);
  return j;
}

void ff_job_free(ff_job *j) {
  if (j == NULL) return;
  if (j->ctx->limit) ff_ratelimit_leave(j->ctx->limit, &j->gate);
  ff_timer_release(j->ctx->engine, &j->timer);
  ff_call_free(&j->call);
  ff_call_free(&j->cancel);
  free(j->status_url);
  free(j->cancel_url);
  free(j);
}

int ff_job_done(const ff_job *j) {
  return j->state == FF_JOB_FINISHED && !ff_call_busy(&j->call) && !ff_call_busy(&j->cancel);
}

double ff_poll_delay(double elapsed, double progress, double *backoff, double poll_max) {
  double d;
  if (progress > 0 && progress < 100 && elapsed > 0) {
    /* Progress so far at this pace says when the job ends; look just after (the server's
       clock started before our accept, so the estimate errs late, never early). */
    d = elapsed * (100 - progress) / progress * 1.02 + 0.02;
  } else {
    d = *backoff;
    *backoff = *backoff * 1.5 < poll_max ? *backoff * 1.5 : poll_max;
  }
  if (d < FF_POLL_MIN) d = FF_POLL_MIN;
  if (d > poll_max) d = poll_max;
  return d;
}

/* ---- events ---- */

static ff_event *event(ff_job *j, ff_evtype type) {
  ff_event *ev = ff_event_new(type, j->handle);
  if (ev == NULL) return NULL;
  ff_strlcpy(ev->job_id, j->job_id, sizeof ev->job_id);
  ff_strlcpy(ev->status, j->status, sizeof ev->status);
  ev->progress = j->progress;
  return ev;
}

static void finish(ff_job *j) {
  j->state = FF_JOB_FINISHED;
  ff_timer_stop(j->ctx->engine, &j->timer);
}

/* Ends the job with err. If even the event cannot be made, the job still ends. */
static void fail(ff_job *j, ff_error *err) {
  ff_event *ev = event(j, FF_EV_ERROR);
  finish(j);
  if (ev == NULL) return;
  ff_error_copy(&ev->err, err);
  ff_strlcpy(ev->err.job_id, j->job_id, sizeof ev->err.job_id);
  j->ctx->emit(j->ctx, ev);
}

/* Ends the job with what a finished transfer says went wrong. */
static void fail_xfer(ff_job *j, ff_xfer *x) {
  ff_error err;
  ff_error_init(&err);
  ff_error_from_xfer(&err, x);
  fail(j, &err);
  ff_error_free(&err);
}

static void fail_with(ff_job *j, ff_errkind kind, const char *message, ff_xfer *x) {
  ff_error err;
  ff_error_init(&err);
  if (x) ff_error_from_xfer(&err, x);
  ff_error_set(&err, kind, "%s", message);
  /* A failed, canceled or timed-out job came in a 200 status document: no HTTP error to show. */
  if (kind == FF_E_JOB_FAILED || kind == FF_E_CANCELED || kind == FF_E_TIMEOUT) err.status = 0;
  fail(j, &err);
  ff_error_free(&err);
}

/* ---- polling ---- */

static void schedule(ff_job *j, double delay) {
  double when = ff_now() + delay;
  if (when > j->deadline) when = j->deadline;
  j->state = FF_JOB_WAITING;
  ff_timer_start(j->ctx->engine, &j->timer, when);
}

static void send_cancel(ff_job *j) {
  ff_error err;
  if (j->cancel_sent || j->cancel_url == NULL) return;
  j->cancel_sent = 1;
  j->cancel.retry = FF_RETRY_IDEMPOTENT; /* cancelling twice is harmless */
  ff_error_init(&err);
  if (ff_call_set(&j->cancel, "PUT", j->cancel_url, NULL, 0, NULL) != 0 ||
      ff_call_send(&j->cancel, &err) != 0) {
    /* Best effort: the deadline or the next poll still ends the job. */
  }
  ff_error_free(&err);
}

static void expire(ff_job *j) {
  ff_error err;
  ff_error_init(&err);
  send_cancel(j);
  ff_error_set(&err, FF_E_TIMEOUT, "job did not finish within %.0f s; asked the server to cancel it",
               j->timeout);
  fail(j, &err);
  ff_error_free(&err);
}

static void on_timer(ff_timer *t) {
  ff_job *j = (ff_job *)((char *)t - offsetof(ff_job, timer));
  ff_error err;
  if (ff_now() >= j->deadline) {
    expire(j);
    if (ff_job_done(j)) j->ctx->release(j->ctx, j->handle);
    return;
  }
  ff_error_init(&err);
  j->state = FF_JOB_POLLING;
  j->call.retry = FF_RETRY_IDEMPOTENT;
  if (ff_call_set(&j->call, "GET", j->status_url, NULL, 0, NULL) != 0) {
    ff_error_set(&err, FF_E_NOMEM, "out of memory polling a job");
    fail(j, &err);
  } else if (ff_call_send(&j->call, &err) != 0) {
    fail(j, &err);
  }
  ff_error_free(&err);
  if (ff_job_done(j)) j->ctx->release(j->ctx, j->handle);
}

static void accepted(ff_job *j) {
  ff_event *ev;
  double now = ff_now();
  j->accepted_at = now;
  j->deadline = now + j->timeout;
  j->next_wait = j->ctx->poll_first;
  ev = event(j, FF_EV_ACCEPTED);
  if (ev) {
    ev->status_url = ff_strdup(j->status_url);
    ev->cancel_url = ff_strdup(j->cancel_url);
    j->ctx->emit(j->ctx, ev);
  }
  if (j->cancel_wanted) send_cancel(j);
  schedule(j, j->cancel_wanted ? FF_CANCEL_POLL : j->ctx->poll_first);
}

/*
** A submit that may or may not have made a job. Never resent silently: Firefly
** has no idempotency key. The retry_unknown_outcome option buys one resend,
** knowing that it may make a second job.
*/
static void unknown_outcome(ff_job *j, ff_xfer *x, const char *message) {
  ff_error err;
  if (j->ctx->retry_unknown_outcome && !j->resubmitted) {
    j->resubmitted = 1;
    j->prior_attempts = x->attempts;
    /* A resend is a submit like any other: it waits for the client's budget too. */
    if (j->ctx->limit && !ff_ratelimit_enter(j->ctx->limit, &j->gate)) return;
    ff_error_init(&err);
    if (ff_call_send(&j->call, &err) != 0) fail(j, &err);
    ff_error_free(&err);
    return;
  }
  fail_with(j, FF_E_UNKNOWN_OUTCOME, message, x);
}

static void on_accept(ff_job *j, ff_xfer *x) {
  ff_accept acc;
  x->attempts += j->prior_attempts; /* the error counts the resend's attempts too */
  if (x->code != CURLE_OK) {
    if (x->sent) {
      /* Sent, then lost: the job may exist. A second submit would spend quota twice. */
      unknown_outcome(j, x, "the submit may have been accepted, but its answer was lost; not resent");
    } else {
      fail_xfer(j, x);
    }
    return;
  }
  if (x->status == 502 || x->status == 504) {
    unknown_outcome(j, x, "a gateway failed after the submit was sent; it may have been accepted; not resent");
    return;
  }
  if (x->status < 200 || x->status >= 300) {
    fail_xfer(j, x);
    return;
  }
  memset(&acc, 0, sizeof acc);
  acc.progress = -1;
  if (j->ctx->dec->accept(j->ctx->dec->ud, x->response.data, x->response.len, &acc) != 0) {
    free(acc.status_url);
    free(acc.cancel_url);
    unknown_outcome(j, x, "the submit was accepted but its answer has no jobId and statusUrl");
    return;
  }
  ff_strlcpy(j->job_id, acc.job_id, sizeof j->job_id);
  j->status_url = acc.status_url;
  j->cancel_url = acc.cancel_url;
  j->progress = acc.progress; /* the accepted event carries it */
  accepted(j);
}

/*
** JobResponse's terminal states. "timeout" is the service's own deadline
** (JobPollPayload, 2026), a terminal state of its own, not a failure.
*/
static int terminal_kind(const char *status, ff_errkind *kind) {
  if (strcmp(status, "succeeded") == 0) return *kind = FF_E_NONE, 1;
  if (strcmp(status, "failed") == 0) return *kind = FF_E_JOB_FAILED, 1;
  if (strcmp(status, "timeout") == 0) return *kind = FF_E_TIMEOUT, 1;
  /* Adobe's enum says "canceled", its examples "cancelled": both end a job. */
  if (strcmp(status, "canceled") == 0 || strcmp(status, "cancelled") == 0)
    return *kind = FF_E_CANCELED, 1;
  return 0; /* pending, running, cancel_pending, and any status not yet known */
}

static void on_status(ff_job *j, ff_xfer *x) {
  ff_jobdoc doc;
  ff_errkind kind;
  if (x->code != CURLE_OK || x->status != 200) {
    fail_xfer(j, x);
    return;
  }
  memset(&doc, 0, sizeof doc);
  doc.progress = -1;
  if (j->ctx->dec->jobdoc(j->ctx->dec->ud, x->response.data, x->response.len, &doc) != 0) {
    if (++j->bad_docs > FF_BAD_DOCS_MAX) {
      fail_with(j, FF_E_TRANSPORT, "the status document could not be read", x);
      return;
    }
    schedule(j, ff_poll_delay(0, -1, &j->next_wait, j->ctx->poll_max));
    return;
  }
  j->bad_docs = 0;
  if (strcmp(doc.status, j->status) != 0 || doc.progress != j->progress) {
    ff_event *ev;
    ff_strlcpy(j->status, doc.status, sizeof j->status);
    j->progress = doc.progress;
    ev = event(j, FF_EV_STATUS);
    if (ev) j->ctx->emit(j->ctx, ev);
  }
  if (terminal_kind(doc.status, &kind)) {
    if (kind == FF_E_NONE) {
      ff_event *ev = event(j, FF_EV_DONE);
      finish(j);
      if (ev == NULL) return;
      ev->http_status = x->status;
      ff_strlcpy(ev->request_id, x->request_id, sizeof ev->request_id);
      ff_buf_move(&ev->body, &x->response);
      j->ctx->emit(j->ctx, ev);
    } else {
      fail_with(j, kind, kind == FF_E_CANCELED  ? "the job was canceled"
                         : kind == FF_E_TIMEOUT ? "the job timed out at Firefly (status timeout)"
                                                : "the job failed", x);
    }
    return;
  }
  if (ff_now() >= j->deadline) {
    expire(j);
    return;
  }
  schedule(j, j->cancel_wanted ? FF_CANCEL_POLL
                               : ff_poll_delay(ff_now() - j->accepted_at, doc.progress, &j->next_wait,
                                               j->ctx->poll_max));
}

static void on_call(ff_call *c, ff_xfer *x, ff_error *err) {
  ff_job *j = c->ud;
  if (err != NULL) {
    fail(j, err);
  } else if (j->state == FF_JOB_SUBMITTING) {
    on_accept(j, x);
  } else {
    on_status(j, x);
  }
  ff_xfer_free(x);
  if (ff_job_done(j)) j->ctx->release(j->ctx, j->handle);
}

static void on_cancel(ff_call *c, ff_xfer *x, ff_error *err) {
  ff_job *j = c->ud;
  (void)err; /* a refused cancel changes nothing: the status document decides */
  ff_xfer_free(x);
  if (ff_job_done(j)) j->ctx->release(j->ctx, j->handle);
}

/* ---- entry points ---- */

void ff_job_max_retries(ff_job *j, int max_retries) {
  j->call.max_retries = max_retries;
  j->cancel.max_retries = max_retries;
}

/* The rate limiter lets a queued submit go. */
static void gate_open(ff_rl_waiter *w) {
  ff_job *j = (ff_job *)((char *)w - offsetof(ff_job, gate));
  ff_error err;
  ff_error_init(&err);
  if (ff_call_send(&j->call, &err) != 0) fail(j, &err);
  ff_error_free(&err);
  if (ff_job_done(j)) j->ctx->release(j->ctx, j->handle);
}

int ff_job_submit(ff_job *j, const char *url, const char *body, size_t len, const char *model_version,
                  ff_error *err) {
  j->state = FF_JOB_SUBMITTING;
  j->call.retry = FF_RETRY_SUBMIT;
  if (model_version && (j->call.model_version = ff_strdup(model_version)) == NULL) goto nomem;
  if (ff_call_set(&j->call, "POST", url, body, len, "application/json") != 0) goto nomem;
  j->gate.go = gate_open;
  if (j->ctx->limit && !ff_ratelimit_enter(j->ctx->limit, &j->gate)) return 0;
  return ff_call_send(&j->call, err);
nomem:
  ff_error_set(err, FF_E_NOMEM, "out of memory submitting a job");
  return -1;
}

int ff_job_attach(ff_job *j, const char *status_url, const char *cancel_url, const char *job_id,
                  ff_error *err) {
  j->status_url = ff_strdup(status_url);
  j->cancel_url = cancel_url ? ff_strdup(cancel_url) : NULL;
  if (j->status_url == NULL || (cancel_url && j->cancel_url == NULL)) {
    ff_error_set(err, FF_E_NOMEM, "out of memory attaching to a job");
    return -1;
  }
  ff_strlcpy(j->job_id, job_id ? job_id : "", sizeof j->job_id);
  j->accepted_at = ff_now();
  j->deadline = j->accepted_at + j->timeout;
  j->next_wait = j->ctx->poll_first;
  schedule(j, 0);
  return 0;
}

int ff_job_cancel(ff_job *j) {
  if (j->state == FF_JOB_FINISHED) return 0;
  if (j->ctx->limit && ff_ratelimit_leave(j->ctx->limit, &j->gate)) {
    fail_with(j, FF_E_CANCELED, "cancelled before it was submitted", NULL);
    j->ctx->release(j->ctx, j->handle);
    return 1;
  }
  j->cancel_wanted = 1;
  if (j->cancel_url) {
    send_cancel(j);
    if (j->state == FF_JOB_WAITING) schedule(j, FF_CANCEL_POLL);
  }
  return 1;
}
