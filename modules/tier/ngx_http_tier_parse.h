
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


NGX_HTTP_LIVE_HIDDEN
void ngx_http_tier_parse_args(u_char *p, size_t len,
    ngx_http_tier_args_t *args);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_tier_valid_key(u_char *p, size_t len);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_tier_parse_n(u_char *p, size_t len);


#endif /* _NGX_HTTP_TIER_PARSE_H_INCLUDED_ */
