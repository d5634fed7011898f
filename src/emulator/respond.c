/*
** respond.c: Lua's answer (status, headers, body, log line, fault) as an MHD
** response, including the hostile ones --faults asks for: bodies cut short,
** stalled connections (resumed by main's loop) and endless bodies.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <lauxlib.h>
#include <lua.h>

#include "emulator.h"

/*
** A response cut short on purpose (--faults): `cut` bytes of the body are
** sent, then the connection is closed, at once or after a stall. Content-Length
** says `total`, so the client knows it was short-changed.
*/
struct emu_cut {
  struct emu_server *s;
  struct MHD_Connection *conn;
  char *body;
  size_t cut;
  double stall;   /* seconds to hold the connection silent before closing */
  double until;   /* when main resumes it (set when it stalls) */
  int stalled;
  struct emu_cut *next;
};

enum MHD_Result emu_queue_text(struct MHD_Connection *conn, unsigned status,
                                 const char *ctype, const char *body) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  enum MHD_Result rc = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return rc;
}

void emu_log(struct emu_server *s, const char *line) {
  if (s->log == NULL || line == NULL) return;
  fputs(line, s->log);
  fputc('\n', s->log);
  fflush(s->log);
}

/* Sends the first `cut` bytes, then stalls (suspended) or closes the connection. */
static ssize_t cut_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct emu_cut *c = cls;
  if (pos < c->cut) {
    size_t n = c->cut - (size_t)pos;
    if (n > max) n = max;
    memcpy(buf, c->body + pos, n);
    return (ssize_t)n;
  }
  if (c->stall > 0 && !c->stalled) {
    /* Suspended before it is listed: main can only resume a suspended connection. */
    pthread_mutex_lock(&c->s->lock);
    c->stalled = 1;
    c->until = emu_monotonic() + c->stall;
    MHD_suspend_connection(c->conn);
    c->next = c->s->stalled;
    c->s->stalled = c;
    pthread_mutex_unlock(&c->s->lock);
    return 0;
  }
  return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void cut_free(void *cls) {
  struct emu_cut *c = cls;
  free(c->body);
  free(c);
}

/* Main's side of a stall: resume the connections whose time has come (all, at exit). */
void emu_resume_due(struct emu_server *s, int all) {
  struct emu_cut *due = NULL, **pp;
  double now = emu_monotonic();
  pthread_mutex_lock(&s->lock);
  pp = &s->stalled;
  while (*pp != NULL) {
    struct emu_cut *c = *pp;
    if (all || now >= c->until) {
      *pp = c->next;
      c->next = due;
      due = c;
    } else {
      pp = &c->next;
    }
  }
  pthread_mutex_unlock(&s->lock);
  while (due != NULL) {
    struct emu_cut *c = due;
    due = c->next;
    MHD_resume_connection(c->conn); /* MHD calls cut_read again, which closes */
  }
}

/* The response Lua asked to cut: {cut = bytes sent, length = bytes promised, stall = s}. */
static struct MHD_Response *aux_cut_response(struct emu_server *s, struct MHD_Connection *conn,
                                             int action, const char *body, size_t blen) {
  lua_State *L = s->L;
  lua_getfield(L, action, "cut");
  lua_getfield(L, action, "length");
  lua_getfield(L, action, "stall");
  lua_Integer cut = lua_tointeger(L, -3), length = lua_tointeger(L, -2);
  double stall = lua_tonumber(L, -1);
  lua_pop(L, 3);
  if (cut < 0 || (size_t)cut > blen) cut = (lua_Integer)blen;
  if (length < cut + 1) length = cut + 1; /* always short of what was promised */
  struct emu_cut *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->body = malloc((size_t)cut + 1);
  if (c->body == NULL) {
    free(c);
    return NULL;
  }
  memcpy(c->body, body, (size_t)cut);
  c->s = s;
  c->conn = conn;
  c->cut = (size_t)cut;
  c->stall = stall;
  struct MHD_Response *resp =
      MHD_create_response_from_callback((uint64_t)length, 4096, cut_read, c, cut_free);
  if (resp == NULL) cut_free(c);
  return resp;
}

/*
** A hostile answer (--faults endless): the prefix, then 'a' for as long as
** the client reads, with no length. Only the client's own cap ends it.
*/
struct emu_endless {
  char *prefix;
  size_t len;
};

static ssize_t endless_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct emu_endless *e = cls;
  size_t n = 0;
  if (pos < e->len) {
    n = e->len - (size_t)pos;
    if (n > max) n = max;
    memcpy(buf, e->prefix + pos, n);
  }
  memset(buf + n, 'a', max - n);
  return (ssize_t)max;
}

static void endless_free(void *cls) {
  struct emu_endless *e = cls;
  free(e->prefix);
  free(e);
}

static struct MHD_Response *aux_endless_response(lua_State *L, int action) {
  size_t len;
  lua_getfield(L, action, "endless");
  const char *prefix = lua_tolstring(L, -1, &len);
  struct emu_endless *e = calloc(1, sizeof *e);
  if (e == NULL || (e->prefix = malloc(len + 1)) == NULL) {
    free(e);
    lua_pop(L, 1);
    return NULL;
  }
  memcpy(e->prefix, prefix ? prefix : "", prefix ? len : 0);
  e->len = prefix ? len : 0;
  lua_pop(L, 1);
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, endless_read, e, endless_free);
  if (resp == NULL) endless_free(e);
  return resp;
}

/*
** Turn Lua's (status, headers, body, logline, fault) into an MHD response and
** write the log line. Content-Length is MHD's to set; a Lua one is dropped.
** A fault {close = true} drops the connection instead of answering; one with
** `cut` sends a short body.
*/
enum MHD_Result emu_respond(struct emu_server *s,
                                   struct MHD_Connection *conn, int base) {
  lua_State *L = s->L;
  lua_Integer status = lua_tointeger(L, base + 1);
  if (status < 100 || status > 999) status = 500;
  size_t blen = 0;
  const char *body = lua_isstring(L, base + 3) ? lua_tolstring(L, base + 3, &blen) : "";
  int action = lua_istable(L, base + 5) ? base + 5 : 0;
  struct MHD_Response *resp;
  if (action) {
    lua_getfield(L, action, "close");
    int drop = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (drop) {
      emu_log(s, lua_tostring(L, base + 4));
      return MHD_NO; /* MHD closes the connection: the client gets no answer */
    }
    lua_getfield(L, action, "endless");
    int endless = lua_isstring(L, -1);
    lua_pop(L, 1);
    resp = endless ? aux_endless_response(L, action)
                   : aux_cut_response(s, conn, action, body, blen);
  } else {
    resp = MHD_create_response_from_buffer(blen, (void *)body, MHD_RESPMEM_MUST_COPY);
  }
  if (resp == NULL) return MHD_NO;
  if (lua_istable(L, base + 2)) {
    lua_pushnil(L);
    while (lua_next(L, base + 2) != 0) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) {
        const char *k = lua_tostring(L, -2);
        if (strcasecmp(k, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
          MHD_add_response_header(resp, k, lua_tostring(L, -1));
      }
      lua_pop(L, 1);
    }
  }
  enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  if (lua_isstring(L, base + 4)) emu_log(s, lua_tostring(L, base + 4));
  return rc;
}

