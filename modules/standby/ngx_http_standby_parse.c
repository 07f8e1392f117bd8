
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_standby_parse.h"


#define NGX_HTTP_STANDBY_HAS_URL    0x01
#define NGX_HTTP_STANDBY_HAS_HOST   0x02
#define NGX_HTTP_STANDBY_HAS_PORT   0x04
#define NGX_HTTP_STANDBY_HAS_PATH   0x08
#define NGX_HTTP_STANDBY_HAS_ERROR  0x10
#define NGX_HTTP_STANDBY_HAS_OTHER  0x20

#define NGX_HTTP_STANDBY_HAS_ALL    0x0f


typedef struct {
    ngx_uint_t   has;
    ngx_str_t    url;
    ngx_str_t    host;
    ngx_str_t    path;
    ngx_str_t    error;
    ngx_uint_t   port;
} ngx_http_standby_members_t;


static ngx_int_t ngx_http_standby_parse_object(ngx_http_live_json_t *j,
    u_char *buf, ngx_http_standby_members_t *m, char **err);
static ngx_int_t ngx_http_standby_parse_member(ngx_http_live_json_t *j,
    ngx_str_t *name, u_char **buf, ngx_http_standby_members_t *m,
    char **err);
static ngx_int_t ngx_http_standby_json_text(ngx_http_live_json_t *j,
    u_char **buf, ngx_str_t *s, char **err);
static ngx_int_t ngx_http_standby_parse_url(ngx_http_standby_answer_t *a,
    char **err);
static ngx_int_t ngx_http_standby_parse_port(u_char *p, u_char *last,
    ngx_uint_t *port);
static ngx_int_t ngx_http_standby_same_peer(ngx_http_standby_answer_t *a,
    ngx_str_t *peer);
static ngx_uint_t ngx_http_standby_same_text(u_char *a, u_char *b,
    size_t n);
static ngx_int_t ngx_http_standby_escape(u_char *p, u_char *c);


ngx_int_t
ngx_http_standby_parse_uri(ngx_str_t *arg, u_char *dst, ngx_str_t *uri,
    char **err)
{
    u_char     *p, *last, *seg;
    ngx_int_t   n;

    n = ngx_http_live_unescape(dst, NGX_HTTP_STANDBY_URI_MAX, arg);

    if (n == NGX_DECLINED) {
        *err = "uri too long";
        return NGX_DECLINED;
    }

    if (n == NGX_ERROR) {
        *err = "invalid percent-encoding in uri";
        return NGX_DECLINED;
    }

    if (n == 0 || dst[0] != '/') {
        *err = "uri is not absolute";
        return NGX_DECLINED;
    }

    last = dst + n;

    for (p = dst; p < last; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *err = "control byte in uri";
            return NGX_DECLINED;
        }
    }

    /*
     * slashes are merged, as in the $uri of the request that follows the
     * redirect: a signature over "/a//b" would not match its "/a/b"
     */

    for (p = dst + 1, seg = dst + 1; p < last; p++) {
        if (*p != '/' || seg[-1] != '/') {
            *seg++ = *p;
        }
    }

    last = seg;
    n = last - dst;

    /* every segment between two slashes, or after the last one */

    for (seg = dst + 1; seg <= last; seg = p + 1) {

        for (p = seg; p < last && *p != '/'; p++) {
            /* void */
        }

        if ((p - seg == 1 && seg[0] == '.')
            || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
        {
            *err = "dot segment in uri";
            return NGX_DECLINED;
        }
    }

    uri->data = dst;
    uri->len = n;

    return NGX_OK;
}


ngx_int_t
ngx_http_standby_parse_answer(ngx_uint_t status, u_char *p, size_t len,
    ngx_str_t *peer, u_char *buf, ngx_http_standby_answer_t *a, char **err)
{
    ngx_http_live_json_t        j;
    ngx_http_standby_members_t  m;

    ngx_memzero(a, sizeof(ngx_http_standby_answer_t));
    ngx_memzero(&m, sizeof(ngx_http_standby_members_t));
    ngx_memzero(&j, sizeof(ngx_http_live_json_t));

    j.pos = p;
    j.last = p + len;

    if (ngx_http_standby_parse_object(&j, buf, &m, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    switch (status) {

    case 200:
        break;

    case 404:
        a->verdict = NGX_HTTP_STANDBY_NOT_FOUND;
        goto error;

    case 503:
        a->verdict = NGX_HTTP_STANDBY_OVERLOADED;
        goto error;

    case 400:
        a->verdict = NGX_HTTP_STANDBY_BAD_URI;
        goto error;

    default:
        *err = "unexpected status";
        return NGX_DECLINED;
    }

    if ((m.has & NGX_HTTP_STANDBY_HAS_ALL) != NGX_HTTP_STANDBY_HAS_ALL) {
        *err = "answer lacks url, host, port or path";
        return NGX_DECLINED;
    }

    a->url = m.url;

    if (ngx_http_standby_parse_url(a, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (a->host.len != m.host.len
        || !ngx_http_standby_same_text(a->host.data, m.host.data, m.host.len)
        || a->port != m.port
        || a->path.len != m.path.len
        || ngx_strncmp(a->path.data, m.path.data, m.path.len) != 0)
    {
        *err = "host, port or path disagree with the url";
        return NGX_DECLINED;
    }

    if (ngx_http_standby_same_peer(a, peer) != NGX_OK) {
        *err = "url is not on the standby that was asked";
        return NGX_DECLINED;
    }

    a->verdict = NGX_HTTP_STANDBY_REDIRECT;

    return NGX_OK;

error:

    /* a "no" is an answer only in the form standby_check gives it */

    if (!(m.has & NGX_HTTP_STANDBY_HAS_ERROR)
        || (m.has & (NGX_HTTP_STANDBY_HAS_URL|NGX_HTTP_STANDBY_HAS_PATH)))
    {
        *err = "error answer without an error member";
        return NGX_DECLINED;
    }

    if ((a->verdict == NGX_HTTP_STANDBY_NOT_FOUND
         && (m.error.len != sizeof("not_found") - 1
             || ngx_strncmp(m.error.data, "not_found", m.error.len) != 0))
        || (a->verdict == NGX_HTTP_STANDBY_OVERLOADED
            && (m.error.len != sizeof("overloaded") - 1
                || ngx_strncmp(m.error.data, "overloaded", m.error.len)
                   != 0))
        || (a->verdict == NGX_HTTP_STANDBY_BAD_URI
            && (m.error.len != sizeof("bad_uri") - 1
                || ngx_strncmp(m.error.data, "bad_uri", m.error.len) != 0)))
    {
        *err = "error member does not match the status";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_standby_parse_object(ngx_http_live_json_t *j, u_char *buf,
    ngx_http_standby_members_t *m, char **err)
{
    u_char      *last;
    ngx_int_t    rc;
    ngx_str_t    name;
    ngx_uint_t   first;

    ngx_http_live_json_ws(j);

    if (ngx_http_live_json_char(j, '{') != NGX_OK) {
        *err = "answer is not a JSON object";
        return NGX_ERROR;
    }

    *err = NULL;
    first = 1;

    while ((rc = ngx_http_live_json_next(j, '}', &first)) == NGX_OK) {

        if (ngx_http_live_json_key(j, &name) != NGX_OK
            || ngx_http_standby_parse_member(j, &name, &buf, m, err)
               != NGX_OK)
        {
            rc = NGX_ERROR;
            break;
        }
    }

    if (rc == NGX_DONE) {
        if (ngx_http_live_json_end(j) == NGX_OK) {
            return NGX_OK;
        }

        *err = "bytes after the JSON object";
        return NGX_ERROR;
    }

    if (*err == NULL) {

        /* an object cut short has no closing brace at its end */

        for (last = j->last; last > j->pos; last--) {
            if (last[-1] != ' ' && last[-1] != '\t' && last[-1] != '\r'
                && last[-1] != '\n')
            {
                break;
            }
        }

        *err = (last == j->pos || last[-1] != '}') ? "truncated JSON"
                                                    : "invalid JSON";
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_standby_parse_member(ngx_http_live_json_t *j, ngx_str_t *name,
    u_char **buf, ngx_http_standby_members_t *m, char **err)
{
    u_char      *start;
    int64_t      n;
    ngx_str_t   *s;
    ngx_uint_t   bit;

    s = NULL;
    bit = NGX_HTTP_STANDBY_HAS_OTHER;

    if (name->len == 3 && ngx_strncmp(name->data, "url", 3) == 0) {
        s = &m->url;
        bit = NGX_HTTP_STANDBY_HAS_URL;

    } else if (name->len == 4 && ngx_strncmp(name->data, "host", 4) == 0) {
        s = &m->host;
        bit = NGX_HTTP_STANDBY_HAS_HOST;

    } else if (name->len == 4 && ngx_strncmp(name->data, "path", 4) == 0) {
        s = &m->path;
        bit = NGX_HTTP_STANDBY_HAS_PATH;

    } else if (name->len == 5 && ngx_strncmp(name->data, "error", 5) == 0) {
        s = &m->error;
        bit = NGX_HTTP_STANDBY_HAS_ERROR;

    } else if (name->len == 4 && ngx_strncmp(name->data, "port", 4) == 0) {
        bit = NGX_HTTP_STANDBY_HAS_PORT;
    }

    if (bit != NGX_HTTP_STANDBY_HAS_OTHER) {
        if (m->has & bit) {
            *err = "duplicate member";
            return NGX_ERROR;
        }

        m->has |= bit;
    }

    if (s) {
        return ngx_http_standby_json_text(j, buf, s, err);
    }

    if (bit == NGX_HTTP_STANDBY_HAS_PORT) {
        start = j->pos;

        if (ngx_http_live_json_number(j, &n) != NGX_OK) {
            return NGX_ERROR;
        }

        /* digits only: no sign, fraction, exponent or leading zero */

        if (ngx_http_standby_parse_port(start, j->pos, &m->port) != NGX_OK) {
            *err = "invalid port";
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    /*
     * members of later versions, such as "detail", are skipped; nested
     * values are not part of the answer
     */

    if (j->pos < j->last && (*j->pos == '{' || *j->pos == '[')) {
        return NGX_ERROR;
    }

    return ngx_http_live_json_skip(j);
}


/*
 * A string, decoded into *buf.  Escapes of non-ASCII characters are
 * refused: standby_check sends ASCII only, and nothing we read may be
 * anything else.
 */

static ngx_int_t
ngx_http_standby_json_text(ngx_http_live_json_t *j, u_char **buf,
    ngx_str_t *s, char **err)
{
    u_char     *d, *p, *last, c, esc[3];
    ngx_str_t   raw;

    if (ngx_http_live_json_string(j, &raw) != NGX_OK) {
        return NGX_ERROR;
    }

    d = *buf;
    s->data = d;

    last = raw.data + raw.len;

    for (p = raw.data; p < last; p++) {

        if (*p != '\\') {
            *d++ = *p;
            continue;
        }

        /* the scanner has checked the escapes */

        switch (*++p) {
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case 'n':
            *d++ = '\n';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 't':
            *d++ = '\t';
            break;

        case 'u':
            /* \u00XX, as "%XX" */

            esc[0] = '%';
            esc[1] = p[3];
            esc[2] = p[4];

            if (p[1] != '0' || p[2] != '0'
                || ngx_http_standby_escape(esc, &c) != NGX_OK
                || c > 0x7f)
            {
                *err = "non-ASCII escape in a JSON string";
                return NGX_ERROR;
            }

            *d++ = c;
            p += 4;
            break;

        default: /* '"', '\\', '/' */
            *d++ = *p;
        }
    }

    s->len = d - s->data;
    *buf = d;

    return NGX_OK;
}


/*
 * scheme "://" host [ ":" port ] path: http or https, an IP literal or a
 * name, and a path of visible ASCII without "?" and "#" (the primary
 * appends its own arguments), whose "%" escapes are well formed.
 */

static ngx_int_t
ngx_http_standby_parse_url(ngx_http_standby_answer_t *a, char **err)
{
    u_char   c, *p, *last, *host;

    p = a->url.data;
    last = p + a->url.len;

    if (last - p > 7 && ngx_strncmp(p, "http://", 7) == 0) {
        p += 7;
        a->port = 80;

    } else if (last - p > 8 && ngx_strncmp(p, "https://", 8) == 0) {
        p += 8;
        a->port = 443;
        a->https = 1;

    } else {
        *err = "url is not http or https";
        return NGX_DECLINED;
    }

    host = p;

    if (*p == '[') {
        for (p++; p < last && *p != ']'; p++) {
            if (!((*p >= '0' && *p <= '9')
                  || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
                  || *p == ':' || *p == '.'))
            {
                goto bad_host;
            }
        }

        if (p == last || p - host < 3) {
            goto bad_host;
        }

        p++;

    } else {
        while (p < last
               && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')
                   || (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == '-'))
        {
            p++;
        }

        if (p == host) {
            goto bad_host;
        }
    }

    a->host.data = host;
    a->host.len = p - host;

    if (p < last && *p == ':') {
        host = ++p;

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

        if (ngx_http_standby_parse_port(host, p, &a->port) != NGX_OK) {
            *err = "invalid port in url";
            return NGX_DECLINED;
        }
    }

    if (p == last || *p != '/') {
        goto bad_host;
    }

    a->path.data = p;
    a->path.len = last - p;

    for ( /* void */ ; p < last; p++) {

        if (*p <= 0x20 || *p >= 0x7f) {
            *err = "url has a byte a header must not carry";
            return NGX_DECLINED;
        }

        if (*p == '?' || *p == '#') {
            *err = "url has a query or fragment";
            return NGX_DECLINED;
        }

        if (*p == '%'
            && (last - p < 3 || ngx_http_standby_escape(p, &c) != NGX_OK))
        {
            *err = "invalid percent-encoding in url";
            return NGX_DECLINED;
        }
    }

    return NGX_OK;

bad_host:

    *err = "url has no valid host";
    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_standby_parse_port(u_char *p, u_char *last, ngx_uint_t *port)
{
    ngx_uint_t  n;

    if (p == last || last - p > 5 || *p == '0') {
        return NGX_ERROR;
    }

    for (n = 0; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        n = n * 10 + (*p - '0');
    }

    if (n > 65535) {
        return NGX_ERROR;
    }

    *port = n;

    return NGX_OK;
}


/* peer is the address the check went to, as nginx prints it */

static ngx_int_t
ngx_http_standby_same_peer(ngx_http_standby_answer_t *a, ngx_str_t *peer)
{
    u_char      *colon;
    ngx_uint_t   port;

    if (peer == NULL || peer->len == 0) {
        return NGX_DECLINED;
    }

    for (colon = peer->data + peer->len - 1; colon > peer->data; colon--) {
        if (*colon == ':') {
            break;
        }
    }

    if (*colon != ':'
        || ngx_http_standby_parse_port(colon + 1, peer->data + peer->len,
                                       &port)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (port != a->port
        || (size_t) (colon - peer->data) != a->host.len
        || !ngx_http_standby_same_text(peer->data, a->host.data, a->host.len))
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* host names and IPv6 hex digits compare without case */

static ngx_uint_t
ngx_http_standby_same_text(u_char *a, u_char *b, size_t n)
{
    while (n--) {
        if (ngx_tolower(*a) != ngx_tolower(*b)) {
            return 0;
        }

        a++;
        b++;
    }

    return 1;
}


/* decodes the three bytes "%XX" at p */

static ngx_int_t
ngx_http_standby_escape(u_char *p, u_char *c)
{
    ngx_str_t  s;

    s.data = p;
    s.len = 3;

    return ngx_http_live_unescape(c, 1, &s) == 1 ? NGX_OK : NGX_ERROR;
}
