/*
** main.c: the firefly-emulator executable. Reads the flags (through Lua,
** which knows which exist), loads the TLS files, starts the server
** (server.c) and then waits: for SIGINT/SIGTERM, for stalled responses to
** resume (respond.c), and, when asked, for the end of its parent.
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "emulator.h"

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
#ifdef FIREFLY_LUA_CMOD
#define FIREFLY_LUA_CDIRS FIREFLY_LUA_CMOD "/?.so;"
#else
#define FIREFLY_LUA_CDIRS ""
#endif

/* The only file-scope mutable: written by the signal handler, read by main. */
static volatile sig_atomic_t emu_signalled = 0;

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

/*
** package.path or cpath = first, then the interpreter's default. The user's
** LUA_PATH and LUA_CPATH are ignored (as `lua -E` does): they are often meant
** for another Lua version, whose cjson.so would crash this embedded 5.4.
** FIREFLY_EMULATOR_LUA_PATH and FIREFLY_EMULATOR_LUA_CPATH are the emulator's own.
*/
static void aux_prepend_path(lua_State *L, const char *field, const char *env, const char *first) {
  const char *user = getenv(env);
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s;%s", user ? user : "", first);
  lua_getfield(L, -2, field);
  lua_concat(L, 2);
  lua_setfield(L, -2, field);
  lua_pop(L, 1);
}

/* Load the behaviour: package.path gets the source tree and install dirs first. */
static int aux_load_app(struct emu_server *s, int argc, char **argv) {
  lua_State *L = s->L;
  lua_pushboolean(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  luaL_openlibs(L);
  luaL_requiref(L, "firefly.emulator.native", emu_open_native, 0);
  lua_pop(L, 1);
  aux_prepend_path(L, "path", "FIREFLY_EMULATOR_LUA_PATH", FIREFLY_LUA_DIRS ";");
  aux_prepend_path(L, "cpath", "FIREFLY_EMULATOR_LUA_CPATH", FIREFLY_LUA_CDIRS);

  lua_getglobal(L, "require");
  lua_pushliteral(L, "firefly.emulator");
  if (emu_pcall(L, 1, 1) != LUA_OK) {
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

/*
** --parent-pid and --exit-on-stdin-eof: an emulator started for someone ends
** with them, however they end (kill -9 included). On Linux the kernel sends
** SIGTERM when the parent goes (PR_SET_PDEATHSIG); everywhere, main's loop
** also sees the parent change (it was reparented) or stdin reach EOF (the
** parent held the pipe's other end).
*/
struct emu_lifeline {
  long parent;   /* 0: not watched */
  int stdin_eof; /* watch fd 0 */
};

static int aux_parent_gone(const struct emu_lifeline *life) {
  return life->parent != 0 && (long)getppid() != life->parent;
}

static void aux_watch_parent(const struct emu_lifeline *life) {
#ifdef __linux__
  if (life->parent != 0) prctl(PR_SET_PDEATHSIG, SIGTERM);
#else
  (void)life;
#endif
}

/* fd 0 readable: drain it; true at EOF or on an error that is not a retry. */
static int aux_stdin_ended(void) {
  char buf[512];
  ssize_t n = read(0, buf, sizeof buf);
  return n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN);
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
  s.listen_fd = -1;
  if (aux_load_app(&s, argc, argv) != 0) {
    status = 2;
    goto done;
  }
  char logpath[4096], host[256], port[16], spec[16], parent[32];
  struct emu_lifeline life = {0, 0};
  if (aux_config(&s, "help", port, sizeof port)) {
    emu_method(&s, "usage");
    if (emu_pcall(s.L, 1, 1) == LUA_OK) fputs(lua_tostring(s.L, -1), stdout);
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
  if (aux_config(&s, "parent_pid", parent, sizeof parent)) life.parent = strtol(parent, NULL, 10);
  life.stdin_eof = aux_config(&s, "exit_on_stdin_eof", spec, sizeof spec);
  aux_watch_parent(&life);
  /* The parent may have gone before prctl: then it is already reparented. */
  if (aux_parent_gone(&life)) goto done;

  if (!aux_config(&s, "host", host, sizeof host)) snprintf(host, sizeof host, "127.0.0.1");
  if (!aux_config(&s, "port", port, sizeof port)) snprintf(port, sizeof port, "0");
  s.faults = aux_config(&s, "faults", spec, sizeof spec) ||
             aux_config(&s, "faults_script", spec, sizeof spec);
  if (aux_load_tls(&s) != 0 || emu_start(&s, host, port) != 0) goto done;
  /* Wake now and then to end stalled responses; signals are let in only here. */
  while (!emu_signalled && !aux_parent_gone(&life)) {
    struct timespec tick = {0, 50 * 1000 * 1000};
    fd_set in;
    FD_ZERO(&in);
    if (life.stdin_eof) FD_SET(0, &in);
    int n = pselect(life.stdin_eof ? 1 : 0, &in, NULL, NULL, &tick, &oldset);
    if (n > 0 && FD_ISSET(0, &in) && aux_stdin_ended()) break;
    emu_resume_due(&s, 0);
  }
  status = 0;

done:
  if (s.daemon != NULL) {
    emu_resume_due(&s, 1); /* MHD must not be stopped with suspended connections */
    MHD_stop_daemon(s.daemon);
  }
  if (s.log != NULL) fclose(s.log);
  free(s.tls_cert);
  free(s.tls_key);
  lua_close(s.L);
  pthread_mutex_destroy(&s.lock);
  return status;
}
