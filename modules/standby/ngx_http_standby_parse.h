
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_STANDBY_PARSE_H_INCLUDED_
#define _NGX_HTTP_STANDBY_PARSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_live_parse.h"


/*
 * Parsers of outside input: the "uri" argument of a check, and the
 * standby's answer.  They use nginx types and macros only, so that they
 * compile and fuzz without linking nginx; hence no ngx_http.h here.
 */


/* the longest decoded "uri" a check accepts */
#define NGX_HTTP_STANDBY_URI_MAX  2048


/* what a standby said */
#define NGX_HTTP_STANDBY_REDIRECT   1
#define NGX_HTTP_STANDBY_NOT_FOUND  2
#define NGX_HTTP_STANDBY_OVERLOADED 3
#define NGX_HTTP_STANDBY_BAD_URI    4


typedef struct {
    ngx_uint_t   verdict;

    /* for NGX_HTTP_STANDBY_REDIRECT: parts of the decoded url */
    ngx_str_t    url;
    ngx_str_t    host;               /* "[...]" for IPv6 */
    ngx_str_t    path;
    ngx_uint_t   port;
    unsigned     https:1;
} ngx_http_standby_answer_t;


/*
 * Percent-decodes the raw "uri" argument once into dst (at least
 * NGX_HTTP_STANDBY_URI_MAX bytes), merges slashes and checks it:
 * absolute, no "." or ".." segment, no NUL or control byte.  NGX_OK
 * with uri set, or NGX_DECLINED with err set to a static text.
 */
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_standby_parse_uri(ngx_str_t *arg, u_char *dst,
    ngx_str_t *uri, char **err);

/*
 * Parses a check answer (its status and body) from the standby whose
 * address ("host:port", "[v6]:port") is peer; body strings are decoded
 * into buf, of at least len bytes.  NGX_OK with the verdict set, or
 * NGX_DECLINED with err set: garbage, or a URL that is not on that
 * standby, not http or https, or has bytes a header must not carry.
 */
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_standby_parse_answer(ngx_uint_t status, u_char *p,
    size_t len, ngx_str_t *peer, u_char *buf, ngx_http_standby_answer_t *a,
    char **err);


#endif /* _NGX_HTTP_STANDBY_PARSE_H_INCLUDED_ */
