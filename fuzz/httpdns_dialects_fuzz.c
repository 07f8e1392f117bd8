/* fuzz-srcs: modules/httpdns/ngx_http_httpdns_parse.c */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_httpdns_parse.h"


/*
 * The vendor dialect parsers (doh-json, dnspod, alicloud) over the same
 * body: a failure must say why, a success must hold addresses.
 */

static void
ngx_http_httpdns_fuzz_check(ngx_int_t rc, ngx_http_httpdns_answer_t *a)
{
    if (rc == NGX_OK) {
        if (a->naddrs == 0 || a->naddrs > NGX_HTTP_HTTPDNS_MAX_ADDRS
            || a->err != NULL)
        {
            __builtin_trap();
        }

    } else if (a->err == NULL) {
        __builtin_trap();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                     *p;
    ngx_http_httpdns_answer_t   a;

    /* a copy of exactly size bytes, so ASan sees any overread */

    p = malloc(size ? size : 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p, data, size);

    ngx_http_httpdns_fuzz_check(
        ngx_http_httpdns_parse_doh_json(p, size, &a), &a);
    ngx_http_httpdns_fuzz_check(
        ngx_http_httpdns_parse_dnspod(p, size, &a), &a);
    ngx_http_httpdns_fuzz_check(
        ngx_http_httpdns_parse_alicloud(p, size, &a), &a);

    free(p);

    return 0;
}
