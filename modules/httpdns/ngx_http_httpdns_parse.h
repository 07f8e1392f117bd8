
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_HTTPDNS_PARSE_H_INCLUDED_
#define _NGX_HTTP_HTTPDNS_PARSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_live_parse.h"


/*
 * Parsers of outside data for ngx_http_httpdns_module.  They call no
 * nginx core function, so that fuzz/ builds them without nginx.
 */


#define NGX_HTTP_HTTPDNS_MAX_ADDRS   16
#define NGX_HTTP_HTTPDNS_MAX_NAME    253
#define NGX_HTTP_HTTPDNS_MAX_STREAM  128

/* header + name + question + OPT with a full IPv6 client subnet */
#define NGX_HTTP_HTTPDNS_QUERY_LEN   (12 + NGX_HTTP_HTTPDNS_MAX_NAME + 2     \
                                      + 4 + 11 + 8 + 16)


typedef struct {
    u_char       addrs[NGX_HTTP_HTTPDNS_MAX_ADDRS][4];
    ngx_uint_t   naddrs;
    time_t       ttl;                 /* -1: the answer had none */
    char        *err;
} ngx_http_httpdns_answer_t;


NGX_HTTP_LIVE_HIDDEN
size_t ngx_http_httpdns_dns_query(u_char *buf, u_char *name, size_t len,
    ngx_uint_t family, u_char *addr, ngx_uint_t prefix);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_httpdns_parse_dns(u_char *p, size_t len, u_char *name,
    size_t nlen, ngx_http_httpdns_answer_t *a);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_httpdns_parse_doh_json(u_char *p, size_t len,
    ngx_http_httpdns_answer_t *a);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_httpdns_parse_dnspod(u_char *p, size_t len,
    ngx_http_httpdns_answer_t *a);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_httpdns_parse_alicloud(u_char *p, size_t len,
    ngx_http_httpdns_answer_t *a);

NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_httpdns_valid_domain(u_char *p, size_t len);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_httpdns_decode_stream(u_char *p, size_t len, u_char *dst,
    size_t *dlen);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_httpdns_url_safe(u_char *p, size_t len);


#endif /* _NGX_HTTP_HTTPDNS_PARSE_H_INCLUDED_ */
