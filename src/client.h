/*
** A client: one engine, one token, and the operations under way on them
** (jobs, API requests, downloads), each known to callers by a handle.
** Finished operations leave events in a queue that the binding drains after
** each step. Still no Lua: the binding lends the JSON decoder.
*/
#ifndef FF_CLIENT_H
#define FF_CLIENT_H

#include "protocol.h"

typedef struct ff_client ff_client;

typedef struct ff_config {
  const char *client_id;     /* also the x-api-key */
  const char *client_secret;
  const char *access_token;  /* a token to use as is, instead of fetching one */
  const char *scopes;
  const char *ims_url;
  const char *api_url;       /* its origin gets the key and token (src/hosts.h) */
  const char *api_hosts;     /* more hosts that may: "host[:port]" or ".suffix[:port]", comma-separated */
  double connect_timeout;
  double request_timeout;
  double stall_timeout;
  double poll_first;
  double poll_max;
  int max_retries;
  double retry_after_cap;
  double rate_per_minute;    /* submits; 0 for no client-side budget */
  double rate_per_day;
  const char *ca_file;
  const char *proxy;
  const char *user_agent;
  int retry_unknown_outcome; /* one resend of a submit whose answer was lost */
  double max_download;       /* bytes one output may have, in memory or on disk */
  double min_download_rate;  /* bytes/s a download must average after stall_timeout; 0: none */
  int plain_http_downloads;  /* http:// output URLs may be fetched (the API itself is plain HTTP) */
  int debug;
} ff_config;

typedef struct ff_stats {
  unsigned long requests;      /* every attempt, retries included */
  unsigned long retries;       /* attempts that repeated a failed one */
  unsigned long token_fetches;
  unsigned long active;        /* operations under way */
} ff_stats;

ff_client *ff_client_new(const ff_config *cfg, ff_decoder *dec, ff_error *err);
/* Stops everything in flight, removes partial downloads, frees. */
void ff_client_free(ff_client *c);

/* Each returns a handle, or 0 with err set. */
/* max_retries: for this job's requests, -1 for the client's. */
uint64_t ff_client_submit(ff_client *c, const char *url, const char *body, size_t len,
                          const char *model_version, double timeout, int max_retries, ff_error *err);
uint64_t ff_client_attach(ff_client *c, const char *status_url, const char *cancel_url,
                          const char *job_id, double timeout, ff_error *err);
uint64_t ff_client_request(ff_client *c, const char *method, const char *url, const char *body,
                           size_t len, const char *content_type, ff_retry_mode retry, ff_error *err);
/*
** path NULL keeps the bytes in memory; otherwise streams to a temporary file
** renamed on success. Only an https URL (http where allowed) is fetched, and
** only over a missing path or a regular file; the first save into a folder
** removes the client's stale temporaries there.
*/
uint64_t ff_client_download(ff_client *c, const char *url, const char *path, ff_error *err);
/* Copies a local file (a cache hit) to path the same way; 0, or -1 with err set. */
int ff_client_copy(ff_client *c, const char *src, const char *path, ff_error *err);
/*
** The same copy as an operation: the worker thread (src/commit.h) copies,
** fsyncs and renames; a done event (path) or error ends it, a step later at
** the soonest. Progress as for a download; canceled or failed, nothing is at path.
*/
uint64_t ff_client_copy_start(ff_client *c, const char *src, const char *path, ff_error *err);
/*
** The sha256 of the regular file at path, read on the worker thread: a done
** event with the hex digest as its body, the size as total and the file's
** stamp (src/files.h), or an error (the file could not be read, or changed
** while it was).
*/
uint64_t ff_client_hash(ff_client *c, const char *path, ff_error *err);
/* 1 when a cancel was started, 0 when the handle is unknown or already finished. */
int ff_client_cancel(ff_client *c, uint64_t handle);
/*
** A request's or download's body so far: 1 with *got (bytes of this attempt)
** and *total (what the server announced, -1 when it announced nothing) while
** it is on the wire; 0 for a job, a finished or unknown handle, or between
** attempts.
*/
int ff_client_progress(ff_client *c, uint64_t handle, double *got, double *total);

/* Runs until an event is ready, max_wait seconds pass, or nothing is left to do. */
void ff_client_step(ff_client *c, double max_wait);
/* The next event, or NULL; the caller frees it with ff_event_free. */
ff_event *ff_client_event(ff_client *c);
/* How many events ff_client_event would give now (the binding sizes its list by it). */
size_t ff_client_queued(const ff_client *c);
/* Seconds until the client needs a step: 0 now, -1 only when nothing is pending. */
double ff_client_timeout(ff_client *c);
/*
** Makes the client due in seconds (its timeout and its descriptor say so
** then), for a caller waiting with a deadline of its own under a scheduler
** that sleeps until the descriptor turns readable; one alarm a client, set
** anew by each call; a negative seconds clears it.
*/
void ff_client_alarm(ff_client *c, double seconds);
/*
** POSTs the file at path as the body (content_type), read in bounded chunks
** as the socket takes them; FF_EV_SENT events say how far it got, then a
** done or error ends it as for a request. 0 and err (io) when it cannot be read,
** or when stamp (a ff_file_stamp of it, or NULL) says it changed since it was hashed.
*/
uint64_t ff_client_upload(ff_client *c, const char *url, const char *path, const char *content_type,
                          const char *stamp, ff_error *err);
/*
** Waits up to max_wait seconds until one of n clients has work, all at once;
** ready[i] is then 1 for each that has. The number ready, or -1 out of memory.
*/
int ff_clients_wait(ff_client *const *cs, size_t n, double max_wait, int *ready);
/* A descriptor readable when the client has work, or -1 where the platform has none. */
int ff_client_pollfd(ff_client *c);
void ff_client_stats(ff_client *c, ff_stats *st);

#endif
