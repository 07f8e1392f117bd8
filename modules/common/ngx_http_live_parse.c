
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_live_parse.h"


static ngx_int_t ngx_http_live_hex(u_char c);


/*
 * Percent-decodes src into dst (at most size bytes), "+" is a space as
 * in x-www-form-urlencoded.  Returns the decoded length, NGX_ERROR on a
 * bad escape and NGX_DECLINED when the result does not fit.
 */

ngx_int_t
ngx_http_live_unescape(u_char *dst, size_t size, ngx_str_t *src)
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

            hi = ngx_http_live_hex(p[1]);
            lo = ngx_http_live_hex(p[2]);

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
ngx_http_live_hex(u_char c)
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
