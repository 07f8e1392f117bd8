
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_LIVE_COMMON_H_INCLUDED_
#define _NGX_HTTP_LIVE_COMMON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_live_parse.h"


NGX_HTTP_LIVE_HIDDEN
size_t ngx_http_live_json_escape_len(u_char *src, size_t size);
NGX_HTTP_LIVE_HIDDEN
u_char *ngx_http_live_json_escape(u_char *dst, u_char *src, size_t size);

NGX_HTTP_LIVE_HIDDEN
ngx_table_elt_t *ngx_http_live_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_redirect(ngx_http_request_t *r, ngx_str_t *location);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_send_body(ngx_http_request_t *r, ngx_buf_t *b);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_send_error(ngx_http_request_t *r, ngx_uint_t status,
    char *code, char *detail);

NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_add_variables(ngx_conf_t *cf,
    ngx_http_variable_t *vars);


#endif /* _NGX_HTTP_LIVE_COMMON_H_INCLUDED_ */
