
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_tier_parse.h"


#define ngx_http_tier_arg_is(name, s, len)                                    \
    ((len) == sizeof(name) - 1 && ngx_strncmp(s, name, sizeof(name) - 1) == 0)


static ngx_int_t ngx_http_tier_hex(u_char c);


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
 * Percent-decodes src into dst (at most size bytes), "+" is a space as
 * in x-www-form-urlencoded.  Returns the decoded length, NGX_ERROR on a
 * bad escape and NGX_DECLINED when the result does not fit.
 */

ngx_int_t
ngx_http_tier_unescape(u_char *dst, size_t size, ngx_str_t *src)
{
    u_char     *p, *last, *d;
    ngx_int_t   hi, lo;

    d = dst;
    p = src->data;
    last = p + src->len;

    while (p < last) {

        if ((size_t) (d - dst) == size) {
            return NGX_DECLINED;
        }

        if (*p == '%') {
            if (last - p < 3) {
                return NGX_ERROR;
            }

            hi = ngx_http_tier_hex(p[1]);
            lo = ngx_http_tier_hex(p[2]);

            if (hi == NGX_ERROR || lo == NGX_ERROR) {
                return NGX_ERROR;
            }

            *d++ = (u_char) (hi << 4 | lo);
            p += 3;
            continue;
        }

        *d++ = (*p == '+') ? ' ' : *p;
        p++;
    }

    return d - dst;
}


static ngx_int_t
ngx_http_tier_hex(u_char c)
{
    u_char  ch;

    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    ch = (u_char) (c | 0x20);

    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }

    return NGX_ERROR;
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
