/*
** A C host with an event loop of its own, as an editor or a DAW has: it
** embeds Lua, lets a script start jobs, and waits on the client's one
** descriptor with its own epoll set beside whatever else it watches (here,
** nothing else), bounded by the client's next deadline. Lua runs only when
** this loop calls it, on this thread; no Lua runs inside libcurl.
**
**   firefly-c-host examples/c_host/jobs.lua
**
** The script returns a table with pollfd(), timeout() and step(): step()
** returns how many operations are left, and 0 ends the loop.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

/* Calls host[name]() and leaves its one result on the stack; 0, or -1 after printing the error. */
static int call(lua_State *L, int host, const char *name) {
  lua_getfield(L, host, name);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    fprintf(stderr, "c-host: %s: %s\n", name, lua_tostring(L, -1));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  lua_State *L;
  struct epoll_event want = {0}, got;
  int ep, fd, host, rc = 1;
  unsigned long wakes = 0;
  if (argc != 2) {
    fprintf(stderr, "usage: %s script.lua\n", argv[0]);
    return 2;
  }
  if ((L = luaL_newstate()) == NULL) return 1;
  luaL_openlibs(L);
  if (luaL_dofile(L, argv[1]) != LUA_OK || !lua_istable(L, -1)) {
    fprintf(stderr, "c-host: %s: %s\n", argv[1], lua_isstring(L, -1) ? lua_tostring(L, -1) : "returned no table");
    lua_close(L);
    return 1;
  }
  host = lua_gettop(L);
  if (call(L, host, "pollfd") != 0 || !lua_isinteger(L, -1)) goto done;
  fd = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  /* The host's own set: the client's descriptor is one member among the host's others. */
  if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
    perror("c-host: epoll_create1");
    goto done;
  }
  want.events = EPOLLIN;
  want.data.fd = fd;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &want) != 0) {
    perror("c-host: epoll_ctl");
    goto close_ep;
  }
  for (;;) {
    double t;
    int ms, left;
    if (call(L, host, "timeout") != 0) goto close_ep;
    t = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : -1; /* nil: nothing pending, wait for the descriptor */
    lua_pop(L, 1);
    ms = t < 0 ? -1 : t > 3600 ? 3600000 : (int)ceil(t * 1000);
    if (epoll_wait(ep, &got, 1, ms) < 0 && errno != EINTR) {
      perror("c-host: epoll_wait");
      goto close_ep;
    }
    wakes++;
    if (call(L, host, "step") != 0) goto close_ep;
    left = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (left == 0) break;
  }
  printf("c-host: %lu wakes of the loop\n", wakes);
  rc = 0;
close_ep:
  close(ep);
done:
  lua_close(L);
  return rc;
}
