/* fuzz-srcs: modules/tier/ngx_http_tier_parse.c */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_tier_parse.h"


/*
 * The selector's parser of enumeration answers (outside data): whatever
 * the body, it returns an answer whose addresses lie inside the body and
 * parse again as addresses, or a failure with a reason.
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                  *p;
    ngx_int_t                rc;
    ngx_uint_t               i;
    socklen_t                socklen;
    struct sockaddr_in6      sa;
    ngx_http_tier_answer_t   a;

    /* an exact-size copy, so that any overread is caught */

    p = malloc(size ? size : 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p, data, size);

    rc = ngx_http_tier_parse_answer(p, size, &a);

    if (rc == NGX_OK) {
        if (a.naddrs == 0 || a.naddrs > NGX_HTTP_TIER_PEERS_MAX
            || a.err != NULL)
        {
            __builtin_trap();
        }

        for (i = 0; i < a.naddrs; i++) {
            socklen = sizeof(struct sockaddr_in6);

            if (a.addrs[i].data < p
                || a.addrs[i].data + a.addrs[i].len > p + size
                || ngx_http_tier_parse_addr(a.addrs[i].data, a.addrs[i].len,
                                            (struct sockaddr *) &sa,
                                            &socklen)
                   != NGX_OK)
            {
                __builtin_trap();
            }
        }

    } else if (rc != NGX_DECLINED || a.err == NULL) {
        __builtin_trap();
    }

    /* and the body as one address */

    socklen = sizeof(struct sockaddr_in6);
    (void) ngx_http_tier_parse_addr(p, size, (struct sockaddr *) &sa,
                                    &socklen);

    free(p);

    return 0;
}
