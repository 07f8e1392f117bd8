
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_TIER_SELECT_H_INCLUDED_
#define _NGX_HTTP_TIER_SELECT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_live_common.h"


/*
 * The selector of SPEC 3.2 (ngx_http_tier_select.c): "tier_lookup" gets
 * the ordered list for a request's key through the lookup cache, the
 * "tier_select" balancer walks it.  Part of ngx_http_tier_module: the
 * module's tables call these.
 */


typedef struct ngx_http_tier_lookup_conf_s  ngx_http_tier_lookup_conf_t;


extern ngx_module_t  ngx_http_tier_module;


NGX_HTTP_LIVE_HIDDEN
char *ngx_http_tier_lookup_conf(ngx_conf_t *cf,
    ngx_http_tier_lookup_conf_t **lcfp, ngx_array_t *lookups);
NGX_HTTP_LIVE_HIDDEN
char *ngx_http_tier_select(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
NGX_HTTP_LIVE_HIDDEN
void *ngx_http_tier_select_create_conf(ngx_conf_t *cf);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_tier_lookup_access(ngx_http_request_t *r,
    ngx_http_tier_lookup_conf_t *lcf);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_tier_select_init(ngx_conf_t *cf, ngx_array_t *lookups);


#endif /* _NGX_HTTP_TIER_SELECT_H_INCLUDED_ */
