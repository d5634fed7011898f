/*
** The IMS token state machine (OAuth client credentials). One fetch at a time
** however many requests wait; a fresh token a margin before expires_in; a
** refresh when the API answers 401 to the current token. The client secret
** goes to the IMS host and nowhere else.
*/
#ifndef FF_AUTH_H
#define FF_AUTH_H

#include "protocol.h"

/*
** Waiters told of a new token in one step (each builds its request then):
** 64 submits waiting for the first token cost one ff:step(0) 1-2 ms when
** woken together. The engine admits FF_STARTS_PER_STEP a step anyway, so
** the rest lose nothing by being told in the client's next steps.
*/
#define FF_AUTH_WAKES_PER_STEP 8

typedef struct ff_auth_waiter {
  struct ff_auth_waiter *prev, *next;
  /* err is NULL when a token is ready (ff_auth_token then gives it at once). */
  void (*ready)(struct ff_auth_waiter *w, const ff_error *err);
} ff_auth_waiter;

typedef struct ff_auth {
  ff_ctx *ctx;
  char *client_id;
  char *client_secret;
  char *scopes;
  char *token_url;
  char *token;
  double expires_at;  /* monotonic */
  double margin;
  unsigned gen;       /* bumped for each new token, so a late 401 cannot drop a newer one */
  int fixed;          /* a token the user gave: never fetched, never refreshed */
  ff_xfer *fetch;
  ff_auth_waiter waiting; /* list head: requests waiting for the fetch in flight */
  ff_auth_waiter woken;   /* list head: a token came, these are told FF_AUTH_WAKES_PER_STEP a step */
  unsigned long fetches;
} ff_auth;

int ff_auth_init(ff_auth *a, ff_ctx *ctx, const char *client_id, const char *client_secret,
                 const char *scopes, const char *ims_url, const char *access_token);
void ff_auth_free(ff_auth *a);
/*
** 1 with *token set when a fresh one is at hand; 0 when w was queued, to be
** woken once a token arrives or cannot; -1 with err set when none can be had.
*/
int ff_auth_token(ff_auth *a, ff_auth_waiter *w, const char **token, ff_error *err);
void ff_auth_forget(ff_auth *a, ff_auth_waiter *w);
/* Tells the next few requests woken by a new token (once per client step); whether any are left. */
void ff_auth_step(ff_auth *a);
int ff_auth_woken(const ff_auth *a);
/* The API refused token generation gen. Returns 1 when a new token can be had. */
int ff_auth_rejected(ff_auth *a, unsigned gen);

#endif
