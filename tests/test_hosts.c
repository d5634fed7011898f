/* Credential hosts: api_url's origin, https *.adobe.io, and what api_hosts names. */
#include "check.h"
#include <string.h>

#include "hosts.h"

static void api_url_origin_and_adobe_hosts_get_credentials(void) {
  const char *api = "https://127.0.0.1:8443";
  CHECK(ff_cred_allowed(api, NULL, "https://127.0.0.1:8443/v3/status/x"));
  CHECK(ff_cred_allowed(api, NULL, "https://firefly-api.adobe.io/v3/status/urn:ff:jobs:a:b"));
  CHECK(ff_cred_allowed(api, NULL, "https://firefly-epo855230.ADOBE.io:443/v3/cancel/x"));
  CHECK(ff_cred_allowed("https://FIREFLY-API.adobe.io", NULL, "https://firefly-api.adobe.io/x"));
  CHECK(ff_cred_allowed("http://127.0.0.1:8080", NULL, "http://127.0.0.1:8080/v3/status/x"));
}

static void another_port_or_scheme_of_the_api_host_gets_nothing(void) {
  CHECK(!ff_cred_allowed("https://127.0.0.1:8443", NULL, "http://127.0.0.1:8080/v3/status/x"));
  CHECK(!ff_cred_allowed("https://127.0.0.1:8443", NULL, "http://127.0.0.1:8443/v3/status/x"));
  CHECK(!ff_cred_allowed("https://127.0.0.1:8443", NULL, "https://127.0.0.1:9443/v3/status/x"));
  CHECK(!ff_cred_allowed("http://127.0.0.1:8080", NULL, "http://127.0.0.1:8081/x"));
  CHECK(!ff_cred_allowed("https://firefly-api.adobe.io", NULL, "http://firefly-api.adobe.io/x"));
  CHECK(!ff_cred_allowed("https://firefly-api.adobe.io", NULL, "https://firefly-api.adobe.io:8443/x"));
}

static void other_hosts_get_nothing(void) {
  const char *api = "https://127.0.0.1";
  CHECK(!ff_cred_allowed(api, NULL, "https://adobe.io.evil.example/v3/status/x"));
  CHECK(!ff_cred_allowed(api, NULL, "https://evil-adobe.io/x"));     /* not under .adobe.io */
  CHECK(!ff_cred_allowed(api, NULL, "https://adobe.io/x"));          /* the bare suffix is not a host under it */
  CHECK(!ff_cred_allowed(api, NULL, "https://127.0.0.2/x"));
  CHECK(!ff_cred_allowed(api, NULL, "https://user@evil.example/@127.0.0.1/"));
  CHECK(!ff_cred_allowed(api, NULL, "ftp://127.0.0.1/"));
  CHECK(!ff_cred_allowed(api, NULL, "not a url"));
  CHECK(!ff_cred_allowed(NULL, NULL, "https://127.0.0.1/"));
  CHECK(ff_cred_allowed(NULL, NULL, "https://x.adobe.io/"));
}

static void plain_http_only_from_a_loopback_api_url_to_loopback(void) {
  /* An API over clear text off this machine gets nothing, not even its own origin. */
  CHECK(!ff_cred_allowed("http://api.example.test", NULL, "http://api.example.test/x"));
  CHECK(!ff_cred_allowed("http://api.example.test", "api.example.test", "http://api.example.test/x"));
  CHECK(!ff_cred_allowed("http://127.0.0.1:8080", "evil.example:80", "http://evil.example/x"));
  CHECK(!ff_cred_allowed("https://127.0.0.1:8443", "127.0.0.1:8080", "http://127.0.0.1:8080/x"));
  CHECK(ff_cred_allowed("http://localhost:8080", "127.0.0.1:8081", "http://127.0.0.1:8081/x"));
  CHECK(ff_url_private("https://ims.example.test"));
  CHECK(ff_url_private("http://127.0.0.1:9/"));
  CHECK(ff_url_private("http://[::1]:9/"));
  CHECK(ff_url_private("http://localhost:9/"));
  CHECK(!ff_url_private("http://ims.example.test"));
  CHECK(!ff_url_private("http://127.0.0.1.evil.example/"));
}

static void api_hosts_entries_name_hosts_suffixes_and_ports(void) {
  const char *api = "https://firefly-api.adobe.io";
  CHECK(ff_cred_allowed(api, "studio.example", "https://studio.example/x"));
  CHECK(!ff_cred_allowed(api, "studio.example", "https://studio.example:8443/x")); /* no port named: 443 only */
  CHECK(ff_cred_allowed(api, "studio.example:8443", "https://STUDIO.example:8443/x"));
  CHECK(!ff_cred_allowed(api, "studio.example:8443", "https://studio.example/x"));
  CHECK(ff_cred_allowed(api, " a.example , .proxy.example ", "https://eu.proxy.example/x"));
  CHECK(!ff_cred_allowed(api, ".proxy.example", "https://proxy.example/x"));
  CHECK(ff_cred_allowed("http://127.0.0.1:1", "[::1]:8080", "http://[::1]:8080/x"));
  CHECK(!ff_cred_allowed(api, "studio.example:", "https://studio.example/x"));
  CHECK(!ff_cred_allowed(api, "studio.example:x", "https://studio.example/x"));
  CHECK(!ff_cred_allowed(api, "", "https://studio.example/x"));
}

#define BAD(s) (ff_api_host_invalid(s, strlen(s)) != NULL)

static void api_hosts_entries_of_another_shape_are_refused(void) {
  const char *entry = NULL;
  size_t len = 0;
  CHECK(!BAD("studio.example"));
  CHECK(!BAD("studio.example:8443"));
  CHECK(!BAD(".proxy.example"));
  CHECK(!BAD("localhost:8080"));
  CHECK(!BAD("127.0.0.1:8081"));
  CHECK(!BAD("[::1]:8080"));
  CHECK(!BAD("xn--bcher-kva.example"));
  CHECK(BAD("*"));
  CHECK(BAD("*.example.com"));
  CHECK(BAD("."));
  CHECK(BAD(".com")); /* every .com host */
  CHECK(BAD(":80"));
  CHECK(BAD("studio.example:"));
  CHECK(BAD("studio.example:x"));
  CHECK(BAD("studio.example:0"));
  CHECK(BAD("studio.example:65536"));
  CHECK(BAD("studio..example"));
  CHECK(BAD("studio.example."));
  CHECK(BAD("-studio.example"));
  CHECK(BAD("https://studio.example"));
  CHECK(BAD("[::1"));
  CHECK(BAD(""));
  CHECK(ff_api_hosts_invalid("a.example,.b.example:81", &entry, &len) == NULL);
  CHECK(ff_api_hosts_invalid("a.example,*,c.example", &entry, &len) != NULL && len == 1 && *entry == '*');
}

static void origin_and_host_extraction(void) {
  char host[16];
  ff_origin o;
  CHECK(ff_url_host("http://[::1]:80/x", host, sizeof host) == 0);
  CHECK(ff_url_host("https://a-very-long-host-name.example/", host, sizeof host) == -1);
  CHECK(ff_url_origin("HTTPS://Example.TEST/x", &o) == 0 && o.port == 443 &&
        strcmp(o.host, "example.test") == 0 && strcmp(o.scheme, "https") == 0);
  CHECK(ff_url_origin("http://example.test:8080", &o) == 0 && o.port == 8080);
}

/* ff_url_origin reads the common URL itself: wherever it does, libcurl's parse must agree. */
static int origins_agree(const char *url) {
  ff_origin a, b;
  int ra = ff_url_origin(url, &a), rb = ff_url_origin_parsed(url, &b);
  if (ra != rb) return 0;
  return ra != 0 || (ff_origin_same(&a, &b) && strcmp(a.scheme, b.scheme) == 0);
}

static void the_quick_origin_reading_agrees_with_libcurl(void) {
  static const char *const urls[] = {
    "http://127.0.0.1:34533/v3/status/abc", "https://firefly-api.adobe.io/v3/images/generate-async",
    "https://Firefly-API.Adobe.IO:443/x?y=1#z", "http://localhost/", "http://127.1/", "http://0x7f.0.0.1/",
    "http://0177.0.0.1/", "http://127.0.0.01/", "http://256.0.0.1/", "http://1.2.3.4.5/", "http://1.2.3/",
    "http://2130706433/", "http://9host.example/", "http://h:0/", "http://h:00080/", "http://h:65535/",
    "http://h:65536/", "http://h:/", "http://h:123456/", "http://h", "http://h?x", "http://h#x",
    "http:///h/", "http:/h/", "http:////h/", "HTTP://h/", "hTTps://h/", "ftp://h/", "http://user@h/",
    "http://h/a b", "http://h/a\tb", "http://h/a\x7f", "http://h/\xc3\xa9", "http://h/%41", "http://h/../../x",
    "http://-/", "http://.../", "http://h./", "http://h_x/", "http://h%41/", "http://[::1]:9/", "http://h\\x/",
    "https://a-very-long-host-name-that-is-still-fine.example.test:8443/v3/status/urn:ff:jobs:a:b",
  };
  static const char *const bases[] = { "http://127.0.0.1:8080/v3/status/x?y#z", "https://a.example/p" };
  size_t i, b, at;
  int c;
  for (i = 0; i < sizeof urls / sizeof *urls; i++) {
    if (!origins_agree(urls[i])) fprintf(stderr, "disagree: %s\n", urls[i]);
    CHECK(origins_agree(urls[i]));
  }
  /* Every byte at every place of two URLs, one at a time. */
  for (b = 0; b < sizeof bases / sizeof *bases; b++) {
    size_t n = strlen(bases[b]);
    for (at = 0; at <= n; at++) {
      for (c = 1; c < 256; c++) {
        char url[128];
        int bad;
        memcpy(url, bases[b], at);
        url[at] = (char)c;
        memcpy(url + at + 1, bases[b] + at, n - at + 1);
        bad = !origins_agree(url);
        if (bad) fprintf(stderr, "disagree: %s\n", url);
        CHECK(!bad);
        memcpy(url, bases[b], n + 1);
        if (at < n) {
          url[at] = (char)c; /* and in place of the byte there */
          bad = !origins_agree(url);
          if (bad) fprintf(stderr, "disagree: %s\n", url);
          CHECK(!bad);
        }
      }
    }
  }
}

int main(void) {
  api_url_origin_and_adobe_hosts_get_credentials();
  another_port_or_scheme_of_the_api_host_gets_nothing();
  other_hosts_get_nothing();
  plain_http_only_from_a_loopback_api_url_to_loopback();
  api_hosts_entries_name_hosts_suffixes_and_ports();
  api_hosts_entries_of_another_shape_are_refused();
  origin_and_host_extraction();
  the_quick_origin_reading_agrees_with_libcurl();
  return CHECK_DONE();
}
