/* Credential hosts: the API host and trusted suffixes only. */
#include "check.h"
#include "hosts.h"

static void exact_hosts_and_suffixes_match(void) {
  const char *allowed = "127.0.0.1,.adobe.io";
  CHECK(ff_host_allowed(allowed, "http://127.0.0.1:8080/v3/status/x"));
  CHECK(ff_host_allowed(allowed, "https://firefly-api.adobe.io/v3/status/urn:ff:jobs:a:b"));
  CHECK(ff_host_allowed(allowed, "https://firefly-epo855230.ADOBE.io/v3/cancel/x"));
  CHECK(ff_host_allowed("firefly-api.adobe.io", "https://FIREFLY-API.adobe.io/x"));
}

static void other_hosts_do_not(void) {
  const char *allowed = "127.0.0.1,.adobe.io";
  CHECK(!ff_host_allowed(allowed, "https://adobe.io.evil.example/v3/status/x"));
  CHECK(!ff_host_allowed(allowed, "https://evil-adobe.io/x"));     /* not under .adobe.io */
  CHECK(!ff_host_allowed(allowed, "https://adobe.io/x"));          /* the bare suffix is not a host under it */
  CHECK(!ff_host_allowed(allowed, "http://127.0.0.2/x"));
  CHECK(!ff_host_allowed(allowed, "https://user@evil.example/@127.0.0.1/"));
  CHECK(!ff_host_allowed(allowed, "not a url"));
  CHECK(!ff_host_allowed(NULL, "http://127.0.0.1/"));
  CHECK(!ff_host_allowed("", "http://127.0.0.1/"));
}

static void host_extraction(void) {
  char host[16];
  CHECK(ff_url_host("http://[::1]:80/x", host, sizeof host) == 0);
  CHECK(ff_url_host("https://a-very-long-host-name.example/", host, sizeof host) == -1);
}

int main(void) {
  exact_hosts_and_suffixes_match();
  other_hosts_do_not();
  host_extraction();
  return CHECK_DONE();
}
