/* fuzz-srcs: modules/httpdns/ngx_http_httpdns_parse.c */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_httpdns_parse.h"


/*
 * Request input checks: the stream argument, domains, rendered URLs,
 * addresses; and the DNS query built from a valid domain, which must
 * fit its buffer and parse back as a question.
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char   *p, addr[16];
    u_char    stream[NGX_HTTP_HTTPDNS_MAX_STREAM];
    u_char    query[NGX_HTTP_HTTPDNS_QUERY_LEN];
    size_t    len, i;

    p = malloc(size ? size : 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p, data, size);

    if (ngx_http_httpdns_decode_stream(p, size, stream, &len) == NGX_OK) {
        if (len == 0 || len > NGX_HTTP_HTTPDNS_MAX_STREAM) {
            __builtin_trap();
        }

        for (i = 0; i < len; i++) {
            if (stream[i] == '%' || stream[i] == '/' || stream[i] <= ' ') {
                __builtin_trap();
            }
        }
    }

    (void) ngx_http_httpdns_url_safe(p, size);
    (void) ngx_http_live_parse_ipv4(p, size, addr);

    if (ngx_http_httpdns_valid_domain(p, size) == NGX_OK) {
        memset(addr, 0xff, sizeof(addr));

        len = ngx_http_httpdns_dns_query(query, p, size, 2, addr,
                                         size % 129);
        if (len > sizeof(query)) {
            __builtin_trap();
        }

        len = ngx_http_httpdns_dns_query(query, p, size, 1, addr,
                                         size % 33);
        if (len > sizeof(query)) {
            __builtin_trap();
        }
    }

    free(p);

    return 0;
}
