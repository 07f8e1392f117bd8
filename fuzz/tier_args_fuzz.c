/* fuzz-srcs: modules/tier/ngx_http_tier_parse.c */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_tier_parse.h"


/*
 * The tier module's parsers of outside input: query strings and notify
 * forms, then every value through the decoders the handlers use.
 */

static void
ngx_http_tier_fuzz_value(ngx_str_t *v, size_t size)
{
    u_char     buf[NGX_HTTP_TIER_KEY_MAX];
    ngx_int_t  len;

    if (v->data == NULL) {
        return;
    }

    len = ngx_http_live_unescape(buf, size, v);

    if (len > (ngx_int_t) size || (len < 0 && len != NGX_ERROR
                                   && len != NGX_DECLINED))
    {
        __builtin_trap();
    }

    if (len >= 0) {
        (void) ngx_http_tier_valid_key(buf, len);
    }

    (void) ngx_http_tier_parse_n(v->data, v->len);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                *p;
    ngx_http_tier_args_t   args;

    /* an exact-size copy, so that any overread is caught */

    p = malloc(size ? size : 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p, data, size);

    memset(&args, 0, sizeof(ngx_http_tier_args_t));

    ngx_http_tier_parse_args(p, size, &args);

    ngx_http_tier_fuzz_value(&args.key, NGX_HTTP_TIER_KEY_MAX);
    ngx_http_tier_fuzz_value(&args.n, 16);
    ngx_http_tier_fuzz_value(&args.id, 64);
    ngx_http_tier_fuzz_value(&args.state, 8);
    ngx_http_tier_fuzz_value(&args.call, 1);
    ngx_http_tier_fuzz_value(&args.app, NGX_HTTP_TIER_KEY_MAX - 1);
    ngx_http_tier_fuzz_value(&args.name, 3);
    ngx_http_tier_fuzz_value(&args.flashver, 32);
    ngx_http_tier_fuzz_value(&args.keys, 4);

    free(p);

    return 0;
}
