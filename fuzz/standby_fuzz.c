/* fuzz-srcs: modules/standby/ngx_http_standby_parse.c */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_standby_parse.h"


/*
 * The standby module's parsers of outside input.  The first byte picks
 * the parser: even, the "uri" argument of a check; odd, a check answer
 * with a status and an asking address picked by the second byte.
 */

static ngx_uint_t  ngx_http_standby_fuzz_status[] = {
    200, 404, 503, 400, 302, 0
};

static ngx_str_t  ngx_http_standby_fuzz_peer[] = {
    ngx_string("127.0.0.1:8080"),
    ngx_string("[::1]:8443"),
    ngx_string("10.0.0.2:80"),
    ngx_string(":"),
    ngx_null_string
};


static void
ngx_http_standby_fuzz_check(ngx_http_standby_answer_t *a, u_char *p,
    size_t len)
{
    u_char  *c;

    if (a->verdict != NGX_HTTP_STANDBY_REDIRECT) {
        return;
    }

    /* what the primary would put in a Location header */

    if (a->url.data < p || a->url.data + a->url.len > p + len
        || a->path.len == 0 || a->path.data[0] != '/')
    {
        __builtin_trap();
    }

    for (c = a->url.data; c < a->url.data + a->url.len; c++) {
        if (*c <= 0x20 || *c >= 0x7f) {
            __builtin_trap();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                     *p, *buf;
    char                       *err;
    ngx_str_t                   arg, uri;
    ngx_uint_t                  status;
    ngx_str_t                  *peer;
    ngx_http_standby_answer_t   a;

    if (size < 2) {
        return 0;
    }

    status = ngx_http_standby_fuzz_status[data[1] % 6];
    peer = &ngx_http_standby_fuzz_peer[(data[1] / 6) % 5];

    /* exact-size copies, so that any overread is caught */

    p = malloc(size - 2 ? size - 2 : 1);
    buf = malloc(size - 2 > NGX_HTTP_STANDBY_URI_MAX
                 ? size - 2 : NGX_HTTP_STANDBY_URI_MAX);

    if (p == NULL || buf == NULL) {
        free(p);
        free(buf);
        return 0;
    }

    memcpy(p, data + 2, size - 2);

    if (data[0] % 2 == 0) {
        arg.data = p;
        arg.len = size - 2;

        if (ngx_http_standby_parse_uri(&arg, buf, &uri, &err) == NGX_OK) {
            if (uri.len == 0 || uri.len > NGX_HTTP_STANDBY_URI_MAX
                || uri.data[0] != '/' || memchr(uri.data, 0, uri.len)
                || memmem(uri.data, uri.len, "//", 2))
            {
                __builtin_trap();
            }
        }

    } else if (ngx_http_standby_parse_answer(status, p, size - 2,
                                             peer->len ? peer : NULL,
                                             buf, &a, &err)
               == NGX_OK)
    {
        ngx_http_standby_fuzz_check(&a, buf, size - 2);
    }

    free(p);
    free(buf);

    return 0;
}
