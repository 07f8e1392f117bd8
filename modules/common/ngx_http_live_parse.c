
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


/* dotted quad, four decimal parts of 0-255, no leading zeros */

ngx_int_t
ngx_http_live_parse_ipv4(u_char *p, size_t len, u_char *addr)
{
    u_char      *last;
    ngx_uint_t   octet, n, digits;

    if (p == NULL) {
        return NGX_ERROR;
    }

    last = p + len;

    for (n = 0; n < 4; n++) {
        octet = 0;

        for (digits = 0; p < last && *p >= '0' && *p <= '9'; p++) {
            if (digits && octet == 0) {
                return NGX_ERROR;
            }

            octet = octet * 10 + (*p - '0');

            if (++digits > 3 || octet > 255) {
                return NGX_ERROR;
            }
        }

        if (digits == 0) {
            return NGX_ERROR;
        }

        addr[n] = (u_char) octet;

        if (n < 3) {
            if (p == last || *p != '.') {
                return NGX_ERROR;
            }

            p++;
        }
    }

    return (p == last) ? NGX_OK : NGX_ERROR;
}


void
ngx_http_live_json_ws(ngx_http_live_json_t *j)
{
    while (j->pos < j->last
           && (*j->pos == ' ' || *j->pos == '\t' || *j->pos == '\n'
               || *j->pos == '\r'))
    {
        j->pos++;
    }
}


ngx_int_t
ngx_http_live_json_char(ngx_http_live_json_t *j, u_char ch)
{
    if (j->pos == j->last || *j->pos != ch) {
        return NGX_ERROR;
    }

    j->pos++;

    return NGX_OK;
}


/* the raw contents of a string; escapes are checked, not decoded */

ngx_int_t
ngx_http_live_json_string(ngx_http_live_json_t *j, ngx_str_t *s)
{
    u_char      *p;
    ngx_uint_t   i;

    if (ngx_http_live_json_char(j, '"') != NGX_OK) {
        return NGX_ERROR;
    }

    s->data = j->pos;

    for (p = j->pos; p < j->last; p++) {

        if (*p == '"') {
            s->len = p - s->data;
            j->pos = p + 1;
            return NGX_OK;
        }

        if (*p < 0x20) {
            return NGX_ERROR;
        }

        if (*p != '\\') {
            continue;
        }

        if (++p == j->last) {
            return NGX_ERROR;
        }

        switch (*p) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            break;

        case 'u':
            if (j->last - p < 5) {
                return NGX_ERROR;
            }

            for (i = 1; i <= 4; i++) {
                if (!((p[i] >= '0' && p[i] <= '9')
                      || (ngx_tolower(p[i]) >= 'a'
                          && ngx_tolower(p[i]) <= 'f')))
                {
                    return NGX_ERROR;
                }
            }

            p += 4;
            break;

        default:
            return NGX_ERROR;
        }
    }

    return NGX_ERROR;
}


/* a JSON number; the integer part is kept, saturated */

ngx_int_t
ngx_http_live_json_number(ngx_http_live_json_t *j, int64_t *n)
{
    u_char      *p;
    int64_t      v;
    ngx_uint_t   neg, digits;

    p = j->pos;
    neg = 0;
    v = 0;

    if (p < j->last && *p == '-') {
        neg = 1;
        p++;
    }

    for (digits = 0; p < j->last && *p >= '0' && *p <= '9'; p++, digits++) {
        if (v < 0x7fffffffffffLL) {
            v = v * 10 + (*p - '0');
        }
    }

    if (digits == 0) {
        return NGX_ERROR;
    }

    if (p < j->last && *p == '.') {
        p++;

        for (digits = 0; p < j->last && *p >= '0' && *p <= '9'; p++) {
            digits++;
        }

        if (digits == 0) {
            return NGX_ERROR;
        }
    }

    if (p < j->last && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < j->last && (*p == '+' || *p == '-')) {
            p++;
        }

        for (digits = 0; p < j->last && *p >= '0' && *p <= '9'; p++) {
            digits++;
        }

        if (digits == 0) {
            return NGX_ERROR;
        }
    }

    j->pos = p;
    *n = neg ? -v : v;

    return NGX_OK;
}


ngx_int_t
ngx_http_live_json_skip(ngx_http_live_json_t *j)
{
    int64_t     n;
    ngx_int_t   rc;
    ngx_str_t   s;
    ngx_uint_t  first;

    if (j->pos == j->last) {
        return NGX_ERROR;
    }

    switch (*j->pos) {

    case '"':
        return ngx_http_live_json_string(j, &s);

    case '{':
    case '[':
        if (++j->depth > NGX_HTTP_LIVE_JSON_DEPTH) {
            return NGX_ERROR;
        }

        first = 1;

        if (*j->pos++ == '{') {
            while ((rc = ngx_http_live_json_next(j, '}', &first))
                   == NGX_OK)
            {
                if (ngx_http_live_json_key(j, &s) != NGX_OK
                    || ngx_http_live_json_skip(j) != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }

        } else {
            while ((rc = ngx_http_live_json_next(j, ']', &first))
                   == NGX_OK)
            {
                if (ngx_http_live_json_skip(j) != NGX_OK) {
                    return NGX_ERROR;
                }
            }
        }

        j->depth--;

        return (rc == NGX_DONE) ? NGX_OK : NGX_ERROR;

    case 't':
        if (j->last - j->pos >= 4 && ngx_strncmp(j->pos, "true", 4) == 0) {
            j->pos += 4;
            return NGX_OK;
        }

        return NGX_ERROR;

    case 'f':
        if (j->last - j->pos >= 5 && ngx_strncmp(j->pos, "false", 5) == 0) {
            j->pos += 5;
            return NGX_OK;
        }

        return NGX_ERROR;

    case 'n':
        if (j->last - j->pos >= 4 && ngx_strncmp(j->pos, "null", 4) == 0) {
            j->pos += 4;
            return NGX_OK;
        }

        return NGX_ERROR;

    default:
        return ngx_http_live_json_number(j, &n);
    }
}


/*
 * Inside an object or array: NGX_OK when another member follows (the
 * position is at it), NGX_DONE past the closing bracket, NGX_ERROR.
 */

ngx_int_t
ngx_http_live_json_next(ngx_http_live_json_t *j, u_char close,
    ngx_uint_t *first)
{
    ngx_http_live_json_ws(j);

    if (j->pos == j->last) {
        return NGX_ERROR;
    }

    if (*j->pos == close) {
        j->pos++;
        return NGX_DONE;
    }

    if (!*first) {
        if (*j->pos != ',') {
            return NGX_ERROR;
        }

        j->pos++;
        ngx_http_live_json_ws(j);

        if (j->pos == j->last) {
            return NGX_ERROR;
        }
    }

    *first = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_live_json_key(ngx_http_live_json_t *j, ngx_str_t *key)
{
    if (ngx_http_live_json_string(j, key) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_live_json_ws(j);

    if (ngx_http_live_json_char(j, ':') != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_live_json_ws(j);

    return (j->pos < j->last) ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_live_json_end(ngx_http_live_json_t *j)
{
    ngx_http_live_json_ws(j);

    return (j->pos == j->last) ? NGX_OK : NGX_ERROR;
}
