
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_tier_parse.h"


#define ngx_http_tier_arg_is(name, s, len)                                    \
    ((len) == sizeof(name) - 1 && ngx_strncmp(s, name, sizeof(name) - 1) == 0)


static ngx_int_t ngx_http_tier_parse_servers(ngx_http_live_json_t *j,
    ngx_http_tier_answer_t *a);
static ngx_int_t ngx_http_tier_parse_server(ngx_http_live_json_t *j,
    ngx_str_t *addr);


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


/*
 * {"group":..,"key":..,"version":..,"ttl":30,"servers":[{"id":"mid-b",
 * "addr":"10.0.0.4:8080"},..]}: the addresses in order (the first
 * NGX_HTTP_TIER_PEERS_MAX) and the ttl.  Anything else is a failure with
 * a reason in a->err: not that shape, a truncated body, no servers, or
 * an address that is not an IP literal with a port.
 */

ngx_int_t
ngx_http_tier_parse_answer(u_char *p, size_t len, ngx_http_tier_answer_t *a)
{
    int64_t               n;
    ngx_str_t             key;
    ngx_uint_t            first, servers;
    ngx_http_live_json_t  j;

    a->naddrs = 0;
    a->ttl = -1;
    a->err = "not a JSON object";

    j.pos = p;
    j.last = p + len;
    j.depth = 0;

    servers = 0;

    ngx_http_live_json_ws(&j);

    if (ngx_http_live_json_char(&j, '{') != NGX_OK) {
        return NGX_DECLINED;
    }

    first = 1;

    for ( ;; ) {

        switch (ngx_http_live_json_next(&j, '}', &first)) {
        case NGX_OK:
            break;
        case NGX_DONE:
            goto done;
        default:
            a->err = "truncated or invalid JSON";
            return NGX_DECLINED;
        }

        if (ngx_http_live_json_key(&j, &key) != NGX_OK) {
            a->err = "truncated or invalid JSON";
            return NGX_DECLINED;
        }

        if (key.len == 3 && ngx_strncmp(key.data, "ttl", 3) == 0) {

            if (ngx_http_live_json_number(&j, &n) != NGX_OK || n < 0) {
                a->err = "invalid ttl";
                return NGX_DECLINED;
            }

            a->ttl = n;
            continue;
        }

        if (key.len == 7 && ngx_strncmp(key.data, "servers", 7) == 0) {

            if (ngx_http_tier_parse_servers(&j, a) != NGX_OK) {
                return NGX_DECLINED;
            }

            servers = 1;
            continue;
        }

        if (ngx_http_live_json_skip(&j) != NGX_OK) {
            a->err = "truncated or invalid JSON";
            return NGX_DECLINED;
        }
    }

done:

    if (ngx_http_live_json_end(&j) != NGX_OK) {
        a->err = "data after the JSON object";
        return NGX_DECLINED;
    }

    if (!servers || a->naddrs == 0) {
        a->err = "no servers";
        return NGX_DECLINED;
    }

    a->err = NULL;

    return NGX_OK;
}


/* the "servers" array: objects whose "addr" must be an address */

static ngx_int_t
ngx_http_tier_parse_servers(ngx_http_live_json_t *j,
    ngx_http_tier_answer_t *a)
{
    ngx_int_t            rc;
    ngx_str_t            addr;
    ngx_uint_t           first;
    socklen_t            socklen;
    struct sockaddr_in6  sa;

    if (ngx_http_live_json_char(j, '[') != NGX_OK) {
        goto invalid;
    }

    first = 1;

    for ( ;; ) {

        switch (ngx_http_live_json_next(j, ']', &first)) {
        case NGX_OK:
            break;
        case NGX_DONE:
            return NGX_OK;
        default:
            goto invalid;
        }

        rc = ngx_http_tier_parse_server(j, &addr);

        if (rc == NGX_ERROR) {
            goto invalid;
        }

        socklen = sizeof(struct sockaddr_in6);

        if (rc == NGX_DECLINED
            || ngx_http_tier_parse_addr(addr.data, addr.len,
                                        (struct sockaddr *) &sa, &socklen)
               != NGX_OK)
        {
            a->err = "a server without an IP address and port";
            return NGX_DECLINED;
        }

        if (a->naddrs < NGX_HTTP_TIER_PEERS_MAX) {
            a->addrs[a->naddrs++] = addr;
        }
    }

invalid:

    a->err = (j->pos >= j->last) ? "truncated or invalid JSON"
                                 : "\"servers\" is not an array of objects";

    return NGX_DECLINED;
}


/* one server object: NGX_OK with its "addr", NGX_DECLINED without */

static ngx_int_t
ngx_http_tier_parse_server(ngx_http_live_json_t *j, ngx_str_t *addr)
{
    ngx_str_t   key;
    ngx_uint_t  first;

    if (ngx_http_live_json_char(j, '{') != NGX_OK) {
        return NGX_ERROR;
    }

    addr->data = NULL;
    first = 1;

    for ( ;; ) {

        switch (ngx_http_live_json_next(j, '}', &first)) {
        case NGX_OK:
            break;
        case NGX_DONE:
            return addr->data ? NGX_OK : NGX_DECLINED;
        default:
            return NGX_ERROR;
        }

        if (ngx_http_live_json_key(j, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (key.len == 4 && ngx_strncmp(key.data, "addr", 4) == 0) {

            if (ngx_http_live_json_string(j, addr) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_live_json_skip(j) != NGX_OK) {
            return NGX_ERROR;
        }
    }
}


/*
 * An IP literal with a port: "10.0.0.4:8080" (strict dotted quad) or
 * "[2001:db8::4]:8080"; the port 1-65535 without leading zeros.
 */

ngx_int_t
ngx_http_tier_parse_addr(u_char *p, size_t len, struct sockaddr *sa,
    socklen_t *socklen)
{
    u_char               *colon, *last;
    ngx_uint_t            port, digits;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    u_char                buf[NGX_INET6_ADDRSTRLEN + 1];
    size_t                alen;
    struct sockaddr_in6  *sin6;
#endif

    last = p + len;

    if (len == 0 || len >= NGX_HTTP_TIER_ADDR_MAX) {
        return NGX_ERROR;
    }

    colon = last;

    while (colon > p && colon[-1] != ':') {
        colon--;
    }

    if (colon == p || colon == last) {
        return NGX_ERROR;
    }

    port = 0;

    for (digits = 0; colon + digits < last; digits++) {
        if (colon[digits] < '0' || colon[digits] > '9'
            || (digits == 0 && colon[0] == '0'))
        {
            return NGX_ERROR;
        }

        port = port * 10 + (colon[digits] - '0');

        if (port > 65535) {
            return NGX_ERROR;
        }
    }

    if (p[0] != '[') {

        if (*socklen < sizeof(struct sockaddr_in)) {
            return NGX_ERROR;
        }

        sin = (struct sockaddr_in *) sa;
        ngx_memzero(sin, sizeof(struct sockaddr_in));

        if (ngx_http_live_parse_ipv4(p, colon - 1 - p,
                                     (u_char *) &sin->sin_addr.s_addr)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        sin->sin_family = AF_INET;
        sin->sin_port = htons((in_port_t) port);
        *socklen = sizeof(struct sockaddr_in);

        return NGX_OK;
    }

#if (NGX_HAVE_INET6)

    /* "[" address "]:" */

    alen = colon - 2 - (p + 1);

    if (colon - p < 4 || colon[-2] != ']' || alen > NGX_INET6_ADDRSTRLEN
        || *socklen < sizeof(struct sockaddr_in6))
    {
        return NGX_ERROR;
    }

    ngx_memcpy(buf, p + 1, alen);
    buf[alen] = '\0';

    sin6 = (struct sockaddr_in6 *) sa;
    ngx_memzero(sin6, sizeof(struct sockaddr_in6));

    if (inet_pton(AF_INET6, (char *) buf, &sin6->sin6_addr) != 1) {
        return NGX_ERROR;
    }

    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((in_port_t) port);
    *socklen = sizeof(struct sockaddr_in6);

    return NGX_OK;

#else

    return NGX_ERROR;

#endif
}
