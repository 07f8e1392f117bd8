
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_LIVE_PARSE_H_INCLUDED_
#define _NGX_HTTP_LIVE_PARSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Shared helpers for the parsers of outside input.  Like the parsers, they
 * use nginx types and macros only, so that fuzz/ builds them without
 * linking nginx; hence no ngx_http.h here.
 *
 * The shared code is linked into every .so of the suite; nginx loads
 * modules with RTLD_GLOBAL, so these symbols are kept out of the dynamic
 * symbol table to avoid interposition between our modules.
 */

#if (__GNUC__ >= 4)
#define NGX_HTTP_LIVE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define NGX_HTTP_LIVE_HIDDEN
#endif


#define NGX_HTTP_LIVE_JSON_DEPTH  16


/* a JSON scanner over a buffer: the caller walks the structure it knows */

typedef struct {
    u_char       *pos;
    u_char       *last;
    ngx_uint_t    depth;
} ngx_http_live_json_t;


NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_unescape(u_char *dst, size_t size, ngx_str_t *src);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_parse_ipv4(u_char *p, size_t len, u_char *addr);

NGX_HTTP_LIVE_HIDDEN
void ngx_http_live_json_ws(ngx_http_live_json_t *j);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_json_char(ngx_http_live_json_t *j, u_char ch);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_json_string(ngx_http_live_json_t *j, ngx_str_t *s);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_json_number(ngx_http_live_json_t *j, int64_t *n);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_json_skip(ngx_http_live_json_t *j);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_json_next(ngx_http_live_json_t *j, u_char close,
    ngx_uint_t *first);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_json_key(ngx_http_live_json_t *j, ngx_str_t *key);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_json_end(ngx_http_live_json_t *j);


#endif /* _NGX_HTTP_LIVE_PARSE_H_INCLUDED_ */
