/* fuzz-srcs: modules/httpdns/ngx_http_httpdns_parse.c */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_httpdns_parse.h"


/*
 * The DoH answer parser (RFC 1035 message, compression, CNAME chains)
 * for the name of the query; the first byte picks one of a few names.
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_uint_t                 i;
    ngx_http_httpdns_answer_t  a;

    static char  *names[] = {
        "push.example.com", "alias.example.com", "x.", "a.b.c.d.e.f"
    };

    if (size == 0) {
        return 0;
    }

    i = data[0] % 4;

    if (ngx_http_httpdns_parse_dns((u_char *) data + 1, size - 1,
                                   (u_char *) names[i],
                                   ngx_strlen(names[i]), &a)
        == NGX_OK)
    {
        if (a.naddrs == 0 || a.naddrs > NGX_HTTP_HTTPDNS_MAX_ADDRS
            || a.err != NULL)
        {
            __builtin_trap();
        }

    } else if (a.err == NULL) {
        __builtin_trap();
    }

    return 0;
}
