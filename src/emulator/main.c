/*
** main.c: the firefly-emulator executable.
** libmicrohttpd accepts connections and collects requests; everything the
** emulator *does* is Lua (lua/firefly/emulator/), called as app:handle(req)
** from MHD's single polling thread, so the Lua state needs no locking.
*/
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "png.h"
#include "../sha256.h" /* the core's: one SHA-256 in the project */

/*
** Where the behaviour's modules live: the source tree first (so a build runs
** the tree it came from), then the install directory. Semicolons cannot pass
** through CMake's compile definitions, so the path is assembled here.
*/
#ifndef FIREFLY_LUA_SRC
#define FIREFLY_LUA_SRC "./lua"
#endif
#ifndef FIREFLY_LUA_LMOD
#define FIREFLY_LUA_LMOD "/usr/local/share/lua/5.4"
#endif
#define FIREFLY_LUA_DIRS                                            \
  FIREFLY_LUA_SRC "/?.lua;" FIREFLY_LUA_SRC "/?/init.lua;"           \
  FIREFLY_LUA_LMOD "/?.lua;" FIREFLY_LUA_LMOD "/?/init.lua"

#define EMU_MAX_BODY ((size_t)64 << 20) /* past this, 413 without calling Lua */
#define EMU_MAX_CONNECTIONS 4096
#define EMU_CONNECTION_TIMEOUT 120 /* seconds idle before MHD drops a socket */

/* The only file-scope mutable: written by the signal handler, read by main. */
static volatile sig_atomic_t emu_signalled = 0;

struct emu_cut;

struct emu_server {
  lua_State *L;
  int app_ref;   /* registry ref of the Lua app object */
  FILE *log;     /* --log target, or NULL */
  struct MHD_Daemon *daemon;
  int faults;    /* --faults or --faults-script given: ask Lua before reading a request */
  /* Stalled responses, suspended by MHD's thread and resumed by main's. */
  pthread_mutex_t lock;
  struct emu_cut *stalled;
  /* --tls-cert/--tls-key contents: MHD reads them as long as the daemon runs. */
  char *tls_cert, *tls_key;
};

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

/* Per-request state: the body as it arrives. */
struct emu_request {
  char *body;
  size_t len, cap;
  int too_large;
};

/* ---------------------------------------------------------------- emu.* */

/* emu.now() -> wall-clock seconds as a float (os.time has 1 s resolution). */
static int emu_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* emu.png(width, height, seed) -> string: deterministic picture. */
static int emu_png(lua_State *L) {
  lua_Integer w = luaL_checkinteger(L, 1);
  lua_Integer h = luaL_checkinteger(L, 2);
  lua_Integer seed = luaL_checkinteger(L, 3);
  luaL_argcheck(L, w >= 1 && w <= PNG_MAX_SIDE, 1, "width out of range");
  luaL_argcheck(L, h >= 1 && h <= PNG_MAX_SIDE, 2, "height out of range");
  unsigned char *buf;
  size_t len;
  if (png_picture((unsigned)w, (unsigned)h, (uint32_t)seed, &buf, &len) != 0)
    return luaL_error(L, "cannot encode a %dx%d picture", (int)w, (int)h);
  lua_pushlstring(L, (const char *)buf, len);
  free(buf);
  return 1;
}

/* emu.sha256(s) -> hex digest, logged beside each output served. */
static int emu_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char hex[65];
  ff_sha256 h;
  ff_sha256_init(&h);
  ff_sha256_update(&h, s, len);
  ff_sha256_hex(&h, hex);
  lua_pushstring(L, hex);
  return 1;
}

static const luaL_Reg emulib[] = {
  {"now", emu_now},
  {"png", emu_png},
  {"sha256", emu_sha256},
  {NULL, NULL}
};

static int emu_open(lua_State *L) {
  luaL_newlib(L, emulib);
  return 1;
}

/* ------------------------------------------------------------- helpers */

static int aux_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

/* Call the function on the stack below `nargs` arguments, with a traceback. */
static int aux_pcall(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, aux_traceback);
  lua_insert(L, base);
  int rc = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  return rc;
}

/* Push app[name] with app as its first argument (a method call prologue). */
static void aux_method(struct emu_server *s, const char *name) {
  lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->app_ref);
  lua_getfield(s->L, -1, name);
  lua_insert(s->L, -2);
}

/*
** Header names are case-insensitive; Lua sees them lowercased, and repeats
** are joined with ", " as RFC 9110 allows.
*/
static enum MHD_Result aux_header(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value) {
  lua_State *L = cls;
  (void)kind;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (const char *p = key; *p; p++)
    luaL_addchar(&b, (char)tolower((unsigned char)*p));
  luaL_pushresult(&b);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) == LUA_TSTRING) {
    lua_pushliteral(L, ", ");
    lua_pushstring(L, value ? value : "");
    lua_concat(L, 3);
  } else {
    lua_pop(L, 1);
    lua_pushstring(L, value ? value : "");
  }
  lua_rawset(L, -3);
  return MHD_YES;
}

static enum MHD_Result aux_query(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *value) {
  lua_State *L = cls;
  (void)kind;
  lua_pushstring(L, value ? value : "");
  lua_setfield(L, -2, key);
  return MHD_YES;
}

static void aux_push_remote(lua_State *L, struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char text[INET6_ADDRSTRLEN] = "";
  if (ci != NULL && ci->client_addr != NULL) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                text, sizeof text);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                text, sizeof text);
  }
  lua_pushstring(L, text);
}

/* Build the req table Lua's handle() receives. */
static void aux_push_request(lua_State *L, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             const struct emu_request *r) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, method);
  lua_setfield(L, -2, "method");
  lua_pushstring(L, url);
  lua_setfield(L, -2, "path");
  lua_newtable(L);
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, aux_query, L);
  lua_setfield(L, -2, "query");
  lua_newtable(L);
  MHD_get_connection_values(conn, MHD_HEADER_KIND, aux_header, L);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, r->body ? r->body : "", r->len);
  lua_setfield(L, -2, "body");
  aux_push_remote(L, conn);
  lua_setfield(L, -2, "remote");
}

static enum MHD_Result aux_queue(struct MHD_Connection *conn, unsigned status,
                                 const char *ctype, const char *body) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  enum MHD_Result rc = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return rc;
}

static void aux_log(struct emu_server *s, const char *line) {
  if (s->log == NULL || line == NULL) return;
  fputs(line, s->log);
  fputc('\n', s->log);
  fflush(s->log);
}

static double aux_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
    c->until = aux_monotonic() + c->stall;
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
static void aux_resume_due(struct emu_server *s, int all) {
  struct emu_cut *due = NULL, **pp;
  double now = aux_monotonic();
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
static enum MHD_Result aux_respond(struct emu_server *s,
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
      aux_log(s, lua_tostring(L, base + 4));
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
  if (lua_isstring(L, base + 4)) aux_log(s, lua_tostring(L, base + 4));
  return rc;
}

/* --faults: may this request be refused before its body is read? Logs if so. */
static int aux_refuse(struct emu_server *s, const char *method, const char *url) {
  lua_State *L = s->L;
  int base = lua_gettop(L), refused = 0;
  aux_method(s, "refuse");
  lua_pushstring(L, method);
  lua_pushstring(L, url);
  if (aux_pcall(L, 3, 1) != LUA_OK) {
    fprintf(stderr, "firefly-emulator: %s %s: %s\n", method, url, lua_tostring(L, -1));
  } else if (lua_isstring(L, -1)) {
    aux_log(s, lua_tostring(L, -1));
    refused = 1;
  }
  lua_settop(L, base);
  return refused;
}

/* -------------------------------------------------------- MHD callbacks */

static enum MHD_Result emu_access(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  struct emu_server *s = cls;
  struct emu_request *r = *con_cls;
  (void)version;
  if (r == NULL) {
    r = calloc(1, sizeof *r);
    if (r == NULL) return MHD_NO;
    *con_cls = r;
    if (s->faults && aux_refuse(s, method, url)) return MHD_NO;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (r->too_large || n > EMU_MAX_BODY - r->len) {
      r->too_large = 1;
      return MHD_YES;
    }
    if (r->cap - r->len < n) {
      size_t cap = r->cap ? r->cap : 4096;
      while (cap - r->len < n) cap *= 2;
      char *nb = realloc(r->body, cap);
      if (nb == NULL) return MHD_NO;
      r->body = nb;
      r->cap = cap;
    }
    memcpy(r->body + r->len, upload_data, n);
    r->len += n;
    return MHD_YES;
  }
  if (r->too_large)
    return aux_queue(conn, 413, "text/html",
                     "<html><body><h1>413 Request Entity Too Large</h1></body></html>");

  lua_State *L = s->L;
  int base = lua_gettop(L);
  aux_method(s, "handle");
  aux_push_request(L, conn, url, method, r);
  if (aux_pcall(L, 2, 5) != LUA_OK) {
    fprintf(stderr, "firefly-emulator: %s %s: %s\n", method, url, lua_tostring(L, -1));
    lua_settop(L, base);
    return aux_queue(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                     "{\"error_code\":\"runtime_error\",\"message\":\"emulator internal error\"}");
  }
  enum MHD_Result rc = aux_respond(s, conn, base);
  lua_settop(L, base);
  return rc;
}

static void emu_completed(void *cls, struct MHD_Connection *conn,
                          void **con_cls, enum MHD_RequestTerminationCode toe) {
  struct emu_request *r = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (r != NULL) {
    free(r->body);
    free(r);
    *con_cls = NULL;
  }
}

/* ------------------------------------------------------------- startup */

static void emu_on_signal(int sig) {
  (void)sig;
  emu_signalled = 1;
}

/* Many concurrent clients need many descriptors: take what the hard limit allows. */
static void aux_raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/*
** Flags go to Lua as {name = value}: `--name value`, `--name=value`, or a
** bare `--name` (true). Lua knows which flags exist; C only needs the result.
*/
static int aux_push_args(lua_State *L, int argc, char **argv) {
  lua_newtable(L);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) {
      fprintf(stderr, "firefly-emulator: unexpected argument '%s' (see --help)\n", a);
      return -1;
    }
    a += 2;
    const char *eq = strchr(a, '=');
    if (eq != NULL) {
      lua_pushlstring(L, a, (size_t)(eq - a));
      lua_pushstring(L, eq + 1);
    } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
      lua_pushstring(L, a);
      lua_pushstring(L, argv[++i]);
    } else {
      lua_pushstring(L, a);
      lua_pushboolean(L, 1);
    }
    lua_rawset(L, -3);
  }
  return 0;
}

/* Load the behaviour: package.path gets the source tree and install dirs first. */
static int aux_load_app(struct emu_server *s, int argc, char **argv) {
  lua_State *L = s->L;
  luaL_openlibs(L);
  luaL_requiref(L, "firefly.emulator.native", emu_open, 0);
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  lua_pushstring(L, FIREFLY_LUA_DIRS ";");
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);

  lua_getglobal(L, "require");
  lua_pushliteral(L, "firefly.emulator");
  if (aux_pcall(L, 1, 1) != LUA_OK) {
    fprintf(stderr, "firefly-emulator: cannot load the behaviour: %s\n", lua_tostring(L, -1));
    return -1;
  }
  lua_getfield(L, -1, "configure");
  if (aux_push_args(L, argc, argv) != 0) return -1;
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "firefly-emulator: %s (see --help)\n", lua_tostring(L, -1));
    return -1;
  }
  s->app_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  return 0;
}

/*
** Copy app.config[key] into buf as text; returns 0 when it is absent or false.
** A bare flag (true) reads as "".
*/
static int aux_config(struct emu_server *s, const char *key, char *buf, size_t size) {
  lua_State *L = s->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->app_ref);
  lua_getfield(L, -1, "config");
  lua_getfield(L, -1, key);
  int present = lua_toboolean(L, -1);
  const char *v = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  snprintf(buf, size, "%s", present ? v : "");
  lua_pop(L, 3);
  return present;
}

/* A whole PEM file as a NUL-terminated string (MHD takes them from memory). */
static char *aux_slurp(const char *flag, const char *path) {
  FILE *f = fopen(path, "rb");
  char *data = NULL;
  size_t len = 0, cap = 0, n;
  if (f == NULL) {
    fprintf(stderr, "firefly-emulator: %s %s: %s\n", flag, path, strerror(errno));
    return NULL;
  }
  do {
    if (cap - len < 4096) {
      char *nd = realloc(data, cap + 65536);
      if (nd == NULL) {
        fprintf(stderr, "firefly-emulator: %s %s: out of memory\n", flag, path);
        free(data);
        fclose(f);
        return NULL;
      }
      data = nd;
      cap += 65536;
    }
    n = fread(data + len, 1, cap - len - 1, f);
    len += n;
  } while (n > 0 && len < ((size_t)1 << 20));
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    fprintf(stderr, "firefly-emulator: %s %s: read error\n", flag, path);
    free(data);
    return NULL;
  }
  data[len] = '\0';
  return data;
}

/* --tls-cert and --tls-key: load both, or say why HTTPS cannot be served. */
static int aux_load_tls(struct emu_server *s) {
  char cert[4096], key[4096];
  if (!aux_config(s, "tls_cert", cert, sizeof cert)) return 0;
  aux_config(s, "tls_key", key, sizeof key);
  if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    fprintf(stderr, "firefly-emulator: --tls-cert: this libmicrohttpd was built without TLS support\n");
    return -1;
  }
  s->tls_cert = aux_slurp("--tls-cert", cert);
  if (s->tls_cert == NULL) return -1;
  s->tls_key = aux_slurp("--tls-key", key);
  return s->tls_key == NULL ? -1 : 0;
}

static int aux_start(struct emu_server *s, const char *host, const char *port) {
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  int gai = getaddrinfo(host, port, &hints, &ai);
  if (gai != 0) {
    fprintf(stderr, "firefly-emulator: --host %s: %s\n", host, gai_strerror(gai));
    return -1;
  }
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                   MHD_ALLOW_SUSPEND_RESUME;
  if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  /* The TLS options go through an array: MHD refuses them on a plain daemon. */
  struct MHD_OptionItem tls[] = {
    {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
    {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
    {MHD_OPTION_END, 0, NULL},
  };
  if (s->tls_cert != NULL) flags |= MHD_USE_TLS;
  else tls[0].option = MHD_OPTION_END;
  s->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, emu_access, s,
      MHD_OPTION_ARRAY, tls,
      MHD_OPTION_SOCK_ADDR, ai->ai_addr,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)EMU_MAX_CONNECTIONS,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EMU_CONNECTION_TIMEOUT,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
      MHD_OPTION_NOTIFY_COMPLETED, emu_completed, s,
      MHD_OPTION_END);
  int family = ai->ai_family;
  freeaddrinfo(ai);
  if (s->daemon == NULL) {
    fprintf(stderr, "firefly-emulator: cannot listen on %s port %s\n", host, port);
    return -1;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  unsigned bound = di ? di->port : 0;

  /* Tell Lua where it listens (the default --public-url), then tell the world. */
  lua_State *L = s->L;
  const char *scheme = s->tls_cert != NULL ? "https" : "http";
  if (family == AF_INET6)
    lua_pushfstring(L, "%s://[%s]:%d", scheme, host, (int)bound);
  else
    lua_pushfstring(L, "%s://%s:%d", scheme, host, (int)bound);
  const char *url = lua_tostring(L, -1);
  aux_method(s, "listening");
  lua_pushvalue(L, -3);
  int rc = aux_pcall(L, 2, 0);
  if (rc != LUA_OK) {
    fprintf(stderr, "firefly-emulator: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  } else {
    /* Only now may clients come: the behaviour knows its public URL. */
    printf("%s\n", url);
    fflush(stdout);
  }
  lua_pop(L, 1);
  return rc == LUA_OK ? 0 : -1;
}

int main(int argc, char **argv) {
  struct emu_server s;
  int status = 1;
  memset(&s, 0, sizeof s);
  s.app_ref = LUA_NOREF;
  if (pthread_mutex_init(&s.lock, NULL) != 0) {
    fprintf(stderr, "firefly-emulator: cannot create a mutex\n");
    return 1;
  }
  s.L = luaL_newstate();
  if (s.L == NULL) {
    fprintf(stderr, "firefly-emulator: cannot create a Lua state\n");
    return 1;
  }
  if (aux_load_app(&s, argc, argv) != 0) {
    status = 2;
    goto done;
  }
  char logpath[4096], host[256], port[16], spec[16];
  if (aux_config(&s, "help", port, sizeof port)) {
    aux_method(&s, "usage");
    if (aux_pcall(s.L, 1, 1) == LUA_OK) fputs(lua_tostring(s.L, -1), stdout);
    status = 0;
    goto done;
  }
  if (aux_config(&s, "log", logpath, sizeof logpath) &&
      (s.log = fopen(logpath, "a")) == NULL) {
    fprintf(stderr, "firefly-emulator: --log %s: %s\n", logpath, strerror(errno));
    goto done;
  }

  /* Block the signals before MHD's thread starts so that only main sees them. */
  sigset_t stopset, oldset;
  sigemptyset(&stopset);
  sigaddset(&stopset, SIGINT);
  sigaddset(&stopset, SIGTERM);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = emu_on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigprocmask(SIG_BLOCK, &stopset, &oldset);
  aux_raise_fd_limit();

  if (!aux_config(&s, "host", host, sizeof host)) snprintf(host, sizeof host, "127.0.0.1");
  if (!aux_config(&s, "port", port, sizeof port)) snprintf(port, sizeof port, "0");
  s.faults = aux_config(&s, "faults", spec, sizeof spec) ||
             aux_config(&s, "faults_script", spec, sizeof spec);
  if (aux_load_tls(&s) != 0 || aux_start(&s, host, port) != 0) goto done;
  /* Wake now and then to end stalled responses; signals are let in only here. */
  while (!emu_signalled) {
    struct timespec tick = {0, 50 * 1000 * 1000};
    pselect(0, NULL, NULL, NULL, &tick, &oldset);
    aux_resume_due(&s, 0);
  }
  status = 0;

done:
  if (s.daemon != NULL) {
    aux_resume_due(&s, 1); /* MHD must not be stopped with suspended connections */
    MHD_stop_daemon(s.daemon);
  }
  if (s.log != NULL) fclose(s.log);
  free(s.tls_cert);
  free(s.tls_key);
  lua_close(s.L);
  pthread_mutex_destroy(&s.lock);
  return status;
}
