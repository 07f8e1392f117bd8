
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_tier_parse.h"


#define ngx_http_tier_arg_is(name, s, len)                                    \
    ((len) == sizeof(name) - 1 && ngx_strncmp(s, name, sizeof(name) - 1) == 0)


/*
 * Splits "a=1&b=2" (a query string or an x-www-form-urlencoded body) and
 * records the raw values of the arguments the module knows.  The first
 * occurrence wins, as with nginx's $arg_*: nginx-rtmp puts its own
 * notify parameters before the client's raw arguments, so a client
 * cannot override "name" or "flashver" by adding them to its play URL.
 */

void
ngx_http_tier_parse_args(u_char *p, size_t len, ngx_http_tier_args_t *args)
{
    u_char     *last, *name, *eq, *end;
    size_t      nlen;
    ngx_str_t  *v;

    last = p + len;

    while (p < last) {

        name = p;

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        p = end + 1;

        eq = ngx_strlchr(name, end, '=');
        if (eq == NULL) {
            eq = end;
        }

        nlen = eq - name;

        if (ngx_http_tier_arg_is("key", name, nlen)) {
            v = &args->key;

        } else if (ngx_http_tier_arg_is("n", name, nlen)) {
            v = &args->n;

        } else if (ngx_http_tier_arg_is("id", name, nlen)) {
            v = &args->id;

        } else if (ngx_http_tier_arg_is("state", name, nlen)) {
            v = &args->state;

        } else if (ngx_http_tier_arg_is("call", name, nlen)) {
            v = &args->call;

        } else if (ngx_http_tier_arg_is("app", name, nlen)) {
            v = &args->app;

        } else if (ngx_http_tier_arg_is("name", name, nlen)) {
            v = &args->name;

        } else if (ngx_http_tier_arg_is("flashver", name, nlen)) {
            v = &args->flashver;

        } else if (ngx_http_tier_arg_is("keys", name, nlen)) {
            v = &args->keys;

        } else {
            continue;
        }

        if (v->data != NULL) {
            continue;
        }

        /* "key" without "=" is present and empty */

        v->data = (eq < end) ? eq + 1 : end;
        v->len = end - v->data;
    }
}


/*
 * A key goes into JSON answers and into nginx-rtmp's Location header:
 * 1 to NGX_HTTP_TIER_KEY_MAX bytes of printable ASCII without space,
 * double quote and backslash.
 */

ngx_int_t
ngx_http_tier_valid_key(u_char *p, size_t len)
{
    u_char  *last;

    if (len == 0 || len > NGX_HTTP_TIER_KEY_MAX) {
        return NGX_ERROR;
    }

    for (last = p + len; p < last; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* "n": 1 to 9 decimal digits, no sign, no escapes; NGX_ERROR otherwise */

ngx_int_t
ngx_http_tier_parse_n(u_char *p, size_t len)
{
    u_char     *last;
    ngx_int_t   n;

    if (len == 0 || len > 9) {
        return NGX_ERROR;
    }

    n = 0;

    for (last = p + len; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        n = n * 10 + (*p - '0');
    }

    return n;
}
