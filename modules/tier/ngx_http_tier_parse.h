
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_TIER_PARSE_H_INCLUDED_
#define _NGX_HTTP_TIER_PARSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_live_parse.h"


/*
 * Parsers of outside input (query strings, nginx-rtmp notify forms).
 * They use nginx types and macros only, so that they compile and fuzz
 * without linking nginx; hence no ngx_http.h here.
 */


#define NGX_HTTP_TIER_KEY_MAX   256
#define NGX_HTTP_TIER_PEERS_MAX 16      /* taken from one answer */
#define NGX_HTTP_TIER_ADDR_MAX  sizeof("[ffff:ffff:ffff:ffff:ffff:ffff:" \
                                       "255.255.255.255]:65535")


/* raw (still escaped) values; data == NULL means "absent" */

typedef struct {
    ngx_str_t   key;
    ngx_str_t   n;
    ngx_str_t   id;
    ngx_str_t   state;
    ngx_str_t   call;
    ngx_str_t   app;
    ngx_str_t   name;
    ngx_str_t   flashver;
    ngx_str_t   keys;
} ngx_http_tier_args_t;


/* an enumeration answer, as the selector takes it */

typedef struct {
    ngx_str_t   addrs[NGX_HTTP_TIER_PEERS_MAX];     /* into the body */
    ngx_uint_t  naddrs;
    int64_t     ttl;                                /* -1: none given */
    char       *err;
} ngx_http_tier_answer_t;


NGX_HTTP_LIVE_HIDDEN
void ngx_http_tier_parse_args(u_char *p, size_t len,
    ngx_http_tier_args_t *args);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_tier_parse_answer(u_char *p, size_t len,
    ngx_http_tier_answer_t *a);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_tier_parse_addr(u_char *p, size_t len,
    struct sockaddr *sa, socklen_t *socklen);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_tier_valid_key(u_char *p, size_t len);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_tier_parse_n(u_char *p, size_t len);


#endif /* _NGX_HTTP_TIER_PARSE_H_INCLUDED_ */
