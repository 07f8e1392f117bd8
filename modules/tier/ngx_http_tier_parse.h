
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_TIER_PARSE_H_INCLUDED_
#define _NGX_HTTP_TIER_PARSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Parsers of outside input (query strings, nginx-rtmp notify forms).
 * They use nginx types and macros only, so that they compile and fuzz
 * without linking nginx; hence no ngx_http.h here, and the visibility
 * pragma below instead of NGX_HTTP_LIVE_HIDDEN, to the same effect.
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
} ngx_http_tier_args_t;


#if (__GNUC__ >= 4)
#pragma GCC visibility push(hidden)
#endif

void ngx_http_tier_parse_args(u_char *p, size_t len,
    ngx_http_tier_args_t *args);
ngx_int_t ngx_http_tier_unescape(u_char *dst, size_t size, ngx_str_t *src);
ngx_int_t ngx_http_tier_valid_key(u_char *p, size_t len);
ngx_int_t ngx_http_tier_parse_n(u_char *p, size_t len);

#if (__GNUC__ >= 4)
#pragma GCC visibility pop
#endif


#endif /* _NGX_HTTP_TIER_PARSE_H_INCLUDED_ */
