/*
** The async job state machine: submit, poll statusUrl as returned until a
** terminal state, cancel through cancelUrl. Every job has a deadline; past it
** the job is cancelled on the server and reported as a timeout.
*/
#ifndef FF_JOB_H
#define FF_JOB_H

#include "call.h"
#include "ratelimit.h"

typedef enum ff_jobstate {
  FF_JOB_SUBMITTING,
  FF_JOB_WAITING, /* a poll timer is armed */
  FF_JOB_POLLING, /* a poll is in flight */
  FF_JOB_FINISHED
} ff_jobstate;

typedef struct ff_job {
  ff_ctx *ctx;
  uint64_t handle;
  ff_jobstate state;
  ff_call call;        /* the submit, then each poll */
  ff_call cancel;      /* may run beside a poll, and outlive the job's last event */
  int cancel_wanted;
  int cancel_sent;
  char job_id[256];
  char *status_url;
  char *cancel_url;
  double timeout;      /* seconds from acceptance to the deadline */
  double accepted_at;
  double deadline;
  double next_wait;    /* the backoff when progress gives no estimate */
  int bad_docs;        /* unreadable status documents in a row */
  int resubmitted;     /* retry_unknown_outcome spent its one resend */
  int prior_attempts;  /* attempts of the submit before that resend */
  char status[32];
  double progress;
  ff_timer timer;
  ff_rl_waiter gate;   /* queued in the client's rate limiter before the submit */
} ff_job;

ff_job *ff_job_new(ff_ctx *ctx, uint64_t handle, double timeout);
/* Retries for this job's requests, over the client's (-1 keeps the client's). */
void ff_job_max_retries(ff_job *j, int max_retries);
/* Starts a job: POST body to url. 0, or -1 with err set. */
int ff_job_submit(ff_job *j, const char *url, const char *body, size_t len, const char *model_version,
                  ff_error *err);
/* Re-attaches to a job accepted earlier, by its status and cancel URLs. */
int ff_job_attach(ff_job *j, const char *status_url, const char *cancel_url, const char *job_id,
                  ff_error *err);
/* Asks the server to cancel; the job ends when the server says it has. */
int ff_job_cancel(ff_job *j);
/* The job emitted its last event and nothing of it is in flight. */
int ff_job_done(const ff_job *j);
void ff_job_free(ff_job *j);

/* The next poll delay, guided by progress. Pure; exposed for the unit tests. */
double ff_poll_delay(double elapsed, double progress, double *backoff, double poll_max);

#endif
