
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_live_common.h"
#include "ngx_http_live_lookup.h"
#include "ngx_http_httpdns_parse.h"


#define NGX_HTTP_HTTPDNS_DOH         0
#define NGX_HTTP_HTTPDNS_DOH_JSON    1
#define NGX_HTTP_HTTPDNS_DNSPOD      2
#define NGX_HTTP_HTTPDNS_ALICLOUD    3

#define NGX_HTTP_HTTPDNS_VAR_IP      0
#define NGX_HTTP_HTTPDNS_VAR_IPS     1
#define NGX_HTTP_HTTPDNS_VAR_DOMAIN  2
#define NGX_HTTP_HTTPDNS_VAR_TTL     3
#define NGX_HTTP_HTTPDNS_VAR_SOURCE  4
#define NGX_HTTP_HTTPDNS_VAR_STREAM  5


typedef struct {
    ngx_shm_zone_t             *shm_zone;
    ngx_flag_t                  redirect;
    ngx_uint_t                  dialect;
    ngx_http_complex_value_t   *service;
    ngx_http_complex_value_t   *domain;
    ngx_http_complex_value_t   *url;
    ngx_http_complex_value_t   *client;
    ngx_uint_t                  prefix4;
    ngx_uint_t                  prefix6;
    ngx_flag_t                  fallback;
} ngx_http_httpdns_loc_conf_t;


typedef struct {
    ngx_http_live_lookup_t      lookup;
    char                       *error;
    char                       *detail;
    ngx_uint_t                  dialect;
    ngx_str_t                   stream;
    ngx_str_t                   domain;
    ngx_str_t                   ip;
    ngx_str_t                   ips;
    ngx_str_t                   source;
    time_t                      ttl;
    unsigned                    answered:1;
} ngx_http_httpdns_ctx_t;


static ngx_int_t ngx_http_httpdns_handler(ngx_http_request_t *r);
static void ngx_http_httpdns_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_httpdns_process(ngx_http_request_t *r);
static ngx_int_t ngx_http_httpdns_init_lookup(ngx_http_request_t *r,
    ngx_http_httpdns_loc_conf_t *hlcf, ngx_http_httpdns_ctx_t *ctx);
static ngx_int_t ngx_http_httpdns_subnet(ngx_http_request_t *r,
    ngx_http_httpdns_loc_conf_t *hlcf, ngx_http_httpdns_ctx_t *ctx,
    u_char *addr, ngx_uint_t *family, ngx_uint_t *prefix, ngx_str_t *subnet);
static ngx_int_t ngx_http_httpdns_query(ngx_http_request_t *r,
    ngx_http_httpdns_ctx_t *ctx, ngx_str_t *sa, ngx_uint_t family,
    u_char *addr, ngx_uint_t prefix, ngx_str_t *subnet);
static ngx_int_t ngx_http_httpdns_parse_answer(ngx_http_request_t *r,
    ngx_http_live_lookup_answer_t *a, void *data);
static ngx_int_t ngx_http_httpdns_answer(ngx_http_request_t *r,
    ngx_http_httpdns_loc_conf_t *hlcf, ngx_http_httpdns_ctx_t *ctx);
static ngx_int_t ngx_http_httpdns_send_json(ngx_http_request_t *r,
    ngx_http_httpdns_ctx_t *ctx, ngx_str_t *urls, ngx_uint_t n);
static ngx_int_t ngx_http_httpdns_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void *ngx_http_httpdns_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_httpdns_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_httpdns_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_httpdns_alloc(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_httpdns_client_subnet(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_httpdns_add_variables(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_http_httpdns_dialects[] = {
    { ngx_string("doh"), NGX_HTTP_HTTPDNS_DOH },
    { ngx_string("doh-json"), NGX_HTTP_HTTPDNS_DOH_JSON },
    { ngx_string("dnspod"), NGX_HTTP_HTTPDNS_DNSPOD },
    { ngx_string("alicloud"), NGX_HTTP_HTTPDNS_ALICLOUD },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_httpdns_commands[] = {

    { ngx_string("httpdns_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_httpdns_zone,
      0,
      0,
      NULL },

    { ngx_string("httpdns_alloc"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_httpdns_alloc,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("httpdns_service"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_httpdns_loc_conf_t, service),
      NULL },

    { ngx_string("httpdns_dialect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_httpdns_loc_conf_t, dialect),
      &ngx_http_httpdns_dialects },

    { ngx_string("httpdns_domain"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_httpdns_loc_conf_t, domain),
      NULL },

    { ngx_string("httpdns_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_httpdns_loc_conf_t, url),
      NULL },

    { ngx_string("httpdns_client"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_httpdns_loc_conf_t, client),
      NULL },

    { ngx_string("httpdns_client_subnet"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_httpdns_client_subnet,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("httpdns_fallback"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_httpdns_loc_conf_t, fallback),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_httpdns_module_ctx = {
    ngx_http_httpdns_add_variables,        /* preconfiguration */
    ngx_http_live_lookup_init,             /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_httpdns_create_loc_conf,      /* create location configuration */
    ngx_http_httpdns_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_httpdns_module = {
    NGX_MODULE_V1,
    &ngx_http_httpdns_module_ctx,          /* module context */
    ngx_http_httpdns_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_httpdns_vars[] = {

    { ngx_string("httpdns_ip"), NULL, ngx_http_httpdns_variable,
      NGX_HTTP_HTTPDNS_VAR_IP, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("httpdns_ips"), NULL, ngx_http_httpdns_variable,
      NGX_HTTP_HTTPDNS_VAR_IPS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("httpdns_domain"), NULL, ngx_http_httpdns_variable,
      NGX_HTTP_HTTPDNS_VAR_DOMAIN, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("httpdns_ttl"), NULL, ngx_http_httpdns_variable,
      NGX_HTTP_HTTPDNS_VAR_TTL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("httpdns_source"), NULL, ngx_http_httpdns_variable,
      NGX_HTTP_HTTPDNS_VAR_SOURCE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("httpdns_stream"), NULL, ngx_http_httpdns_variable,
      NGX_HTTP_HTTPDNS_VAR_STREAM, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_httpdns_dialect_names[] = {
    ngx_string("doh"),
    ngx_string("doh-json"),
    ngx_string("dnspod"),
    ngx_string("alicloud")
};


static ngx_int_t
ngx_http_httpdns_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_httpdns_process(r);

    if (rc == NGX_AGAIN) {
        /* held until the lookup wakes us through the write handler */
        r->main->count++;
        r->write_event_handler = ngx_http_httpdns_resume;
        return NGX_DONE;
    }

    return rc;
}


static void
ngx_http_httpdns_resume(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_httpdns_process(r);

    if (rc == NGX_AGAIN) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_httpdns_process(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_httpdns_ctx_t       *ctx;
    ngx_http_httpdns_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_httpdns_module);

    ctx = ngx_http_get_module_ctx(r, ngx_http_httpdns_module);

    if (ctx == NULL) {

        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_httpdns_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_httpdns_module);

        rc = ngx_http_httpdns_init_lookup(r, hlcf, ctx);

        if (rc == NGX_DECLINED) {
            return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            ctx->error, ctx->detail);
        }

        if (rc != NGX_OK) {
            return rc;
        }
    }

    rc = ngx_http_live_lookup(r, hlcf->shm_zone, &ctx->lookup);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_httpdns_answer(r, hlcf, ctx);
}


/*
 * Checks the request, finds the terminal's subnet, and sets the cache
 * key and the service query; an answer (status) when the input is bad.
 */

static ngx_int_t
ngx_http_httpdns_init_lookup(ngx_http_request_t *r,
    ngx_http_httpdns_loc_conf_t *hlcf, ngx_http_httpdns_ctx_t *ctx)
{
    u_char                  *p;
    u_char                   addr[16];
    u_char                   stream[NGX_HTTP_HTTPDNS_MAX_STREAM];
    size_t                   len, slen;
    ngx_int_t                rc;
    ngx_str_t                arg, subnet, service, sargs;
    ngx_uint_t               i, family, prefix;
    ngx_http_live_lookup_t  *lk;

    if (ngx_http_arg(r, (u_char *) "stream", 6, &arg) != NGX_OK) {
        ctx->error = "missing_stream";
        ctx->detail = "the stream argument is required";
        return NGX_DECLINED;
    }

    if (ngx_http_httpdns_decode_stream(arg.data, arg.len, stream, &slen)
        != NGX_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "httpdns: invalid stream \"%V\"", &arg);

        ctx->error = "invalid_stream";
        ctx->detail = "stream must be 1-128 bytes of A-Z a-z 0-9 . _ - ~, "
                      "not . or ..";
        return NGX_DECLINED;
    }

    /* what templates render ($httpdns_stream) is what was checked */

    ctx->stream.data = ngx_pnalloc(r->pool, slen);
    if (ctx->stream.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->stream.data, stream, slen);
    ctx->stream.len = slen;

    if (ngx_http_complex_value(r, hlcf->domain, &ctx->domain) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_httpdns_valid_domain(ctx->domain.data, ctx->domain.len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "httpdns: invalid domain \"%V\"", &ctx->domain);

        ctx->error = "invalid_domain";
        ctx->detail = "the domain is not a host name";
        return NGX_DECLINED;
    }

    rc = ngx_http_httpdns_subnet(r, hlcf, ctx, addr, &family, &prefix,
                                 &subnet);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_complex_value(r, hlcf->service, &service) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (service.len == 0 || service.data[0] != '/') {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "httpdns: service URI \"%V\" does not start with /",
                      &service);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lk = &ctx->lookup;
    lk->uri = service;
    ngx_str_null(&sargs);

    p = ngx_strlchr(service.data, service.data + service.len, '?');

    if (p) {
        lk->uri.len = p - service.data;
        sargs.data = p + 1;
        sargs.len = service.data + service.len - sargs.data;
    }

    ctx->dialect = hlcf->dialect;

    if (ngx_http_httpdns_query(r, ctx, &sargs, family, addr, prefix, &subnet)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the key: what the answer depends on */

    len = ngx_http_httpdns_dialect_names[hlcf->dialect].len
          + service.len + ctx->domain.len + subnet.len
          + sizeof("|||/255") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lk->key.data = p;
    p = ngx_sprintf(p, "%V|%V|", &ngx_http_httpdns_dialect_names[hlcf->dialect],
                    &service);

    for (i = 0; i < ctx->domain.len; i++) {
        *p++ = ngx_tolower(ctx->domain.data[i]);
    }

    p = ngx_sprintf(p, "|%V/%ui", &subnet, prefix);
    lk->key.len = p - lk->key.data;

    lk->parse = ngx_http_httpdns_parse_answer;
    lk->data = ctx;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "httpdns: stream \"%*s\" key \"%V\"", slen, stream,
                   &lk->key);

    return NGX_OK;
}


/*
 * The terminal's subnet: its address (an IPv4-mapped one is the IPv4
 * address it carries) with the bits past the prefix cleared, in addr
 * and as text; NGX_DECLINED when the client address is not one.
 */

static ngx_int_t
ngx_http_httpdns_subnet(ngx_http_request_t *r,
    ngx_http_httpdns_loc_conf_t *hlcf, ngx_http_httpdns_ctx_t *ctx,
    u_char *addr, ngx_uint_t *family, ngx_uint_t *prefix, ngx_str_t *subnet)
{
    size_t      len;
    in_addr_t   inaddr;
    ngx_str_t   client;
    ngx_uint_t  i;

#if (NGX_HAVE_INET6)
    static u_char  v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0xff, 0xff };
#endif

    if (ngx_http_complex_value(r, hlcf->client, &client) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    inaddr = ngx_inet_addr(client.data, client.len);

    if (inaddr != INADDR_NONE) {
        *family = 1;
        *prefix = hlcf->prefix4;
        ngx_memcpy(addr, &inaddr, 4);
        len = 4;

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr(client.data, client.len, addr) == NGX_OK) {
        *family = 2;
        *prefix = hlcf->prefix6;
        len = 16;

        /* ::ffff:a.b.c.d is the IPv4 terminal it carries, as for geo */

        if (ngx_memcmp(addr, v4mapped, 12) == 0) {
            *family = 1;
            *prefix = hlcf->prefix4;
            ngx_memmove(addr, &addr[12], 4);
            len = 4;
        }
#endif

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "httpdns: invalid client address \"%V\"", &client);

        ctx->error = "invalid_client";
        ctx->detail = "the client address is not an IP address";
        return NGX_DECLINED;
    }

    /* keep only the subnet: it is all the service and the key get */

    for (i = 0; i < len; i++) {
        if (i * 8 >= *prefix) {
            addr[i] = 0;

        } else if (i * 8 + 8 > *prefix) {
            addr[i] &= (u_char) (0xff << (8 - (*prefix - i * 8)));
        }
    }

    subnet->data = ngx_pnalloc(r->pool, NGX_INET6_ADDRSTRLEN);
    if (subnet->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (*family == 1) {
        subnet->len = ngx_sprintf(subnet->data, "%ud.%ud.%ud.%ud",
                                  addr[0], addr[1], addr[2], addr[3])
                      - subnet->data;

#if (NGX_HAVE_INET6)
    } else {
        subnet->len = ngx_inet6_ntop(addr, subnet->data,
                                     NGX_INET6_ADDRSTRLEN);
#endif
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_httpdns_query(ngx_http_request_t *r, ngx_http_httpdns_ctx_t *ctx,
    ngx_str_t *sa, ngx_uint_t family, u_char *addr, ngx_uint_t prefix,
    ngx_str_t *subnet)
{
    u_char     *p;
    size_t      len;
    ngx_str_t  *args, msg, b64;
    u_char      query[NGX_HTTP_HTTPDNS_QUERY_LEN];

    args = &ctx->lookup.args;

    switch (ctx->dialect) {

    case NGX_HTTP_HTTPDNS_DOH:
        msg.data = query;
        msg.len = ngx_http_httpdns_dns_query(query, ctx->domain.data,
                                             ctx->domain.len, family, addr,
                                             prefix);

        b64.data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(msg.len));
        if (b64.data == NULL) {
            return NGX_ERROR;
        }

        ngx_encode_base64url(&b64, &msg);

        len = sa->len + sizeof("&dns=") - 1 + b64.len;
        break;

    case NGX_HTTP_HTTPDNS_DOH_JSON:
        len = sa->len + ctx->domain.len + subnet->len
              + sizeof("&name=&type=A&edns_client_subnet=/128") - 1;
        break;

    case NGX_HTTP_HTTPDNS_DNSPOD:
        len = sa->len + ctx->domain.len + subnet->len
              + sizeof("&dn=&ip=&ttl=1") - 1;
        break;

    default: /* NGX_HTTP_HTTPDNS_ALICLOUD */
        len = sa->len + ctx->domain.len + subnet->len
              + sizeof("&host=&ip=") - 1;
        break;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    args->data = p;

    if (sa->len) {
        p = ngx_cpymem(p, sa->data, sa->len);
        *p++ = '&';
    }

    switch (ctx->dialect) {

    case NGX_HTTP_HTTPDNS_DOH:
        p = ngx_sprintf(p, "dns=%V", &b64);
        break;

    case NGX_HTTP_HTTPDNS_DOH_JSON:
        p = ngx_sprintf(p, "name=%V&type=A&edns_client_subnet=%V/%ui",
                        &ctx->domain, subnet, prefix);
        break;

    case NGX_HTTP_HTTPDNS_DNSPOD:
        p = ngx_sprintf(p, "dn=%V&ip=%V&ttl=1", &ctx->domain, subnet);
        break;

    default: /* NGX_HTTP_HTTPDNS_ALICLOUD */
        p = ngx_sprintf(p, "host=%V&ip=%V", &ctx->domain, subnet);
        break;
    }

    args->len = p - args->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_httpdns_parse_answer(ngx_http_request_t *r,
    ngx_http_live_lookup_answer_t *a, void *data)
{
    ngx_http_httpdns_ctx_t *ctx = data;

    u_char                     *p;
    ngx_int_t                   rc;
    ngx_uint_t                  i;
    ngx_http_httpdns_answer_t   ans;

    switch (ctx->dialect) {

    case NGX_HTTP_HTTPDNS_DOH:
        rc = ngx_http_httpdns_parse_dns(a->body.data, a->body.len,
                                        ctx->domain.data, ctx->domain.len,
                                        &ans);
        break;

    case NGX_HTTP_HTTPDNS_DOH_JSON:
        rc = ngx_http_httpdns_parse_doh_json(a->body.data, a->body.len,
                                             &ans);
        break;

    case NGX_HTTP_HTTPDNS_DNSPOD:
        rc = ngx_http_httpdns_parse_dnspod(a->body.data, a->body.len, &ans);
        break;

    default: /* NGX_HTTP_HTTPDNS_ALICLOUD */
        rc = ngx_http_httpdns_parse_alicloud(a->body.data, a->body.len,
                                             &ans);
        break;
    }

    if (rc != NGX_OK) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "httpdns: bad answer (%s), %uz bytes",
                       ans.err, a->body.len);
        a->err = ans.err;
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, ans.naddrs * sizeof("255.255.255.255,"));
    if (p == NULL) {
        a->err = "out of memory";
        return NGX_ERROR;
    }

    a->value.data = p;

    for (i = 0; i < ans.naddrs; i++) {
        p = ngx_sprintf(p, "%s%ud.%ud.%ud.%ud", i ? "," : "",
                        ans.addrs[i][0], ans.addrs[i][1], ans.addrs[i][2],
                        ans.addrs[i][3]);
    }

    a->value.len = p - a->value.data;
    a->ttl = (ans.ttl < 0) ? 0 : ans.ttl;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "httpdns: answer \"%V\" ttl:%T for \"%V\"",
                   &a->value, a->ttl, &ctx->domain);

    return NGX_OK;
}


static ngx_int_t
ngx_http_httpdns_answer(ngx_http_request_t *r,
    ngx_http_httpdns_loc_conf_t *hlcf, ngx_http_httpdns_ctx_t *ctx)
{
    u_char                  *p, *last;
    ngx_str_t                urls[NGX_HTTP_HTTPDNS_MAX_ADDRS];
    ngx_str_t                ips[NGX_HTTP_HTTPDNS_MAX_ADDRS];
    ngx_uint_t               i, n;
    ngx_http_live_lookup_t  *lk;

    lk = &ctx->lookup;

    if (lk->source == NGX_HTTP_LIVE_LOOKUP_NONE) {

        if (!hlcf->fallback) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "httpdns: no answer for \"%V\", 503",
                           &ctx->domain);

            return ngx_http_live_send_error(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "unavailable",
                                            "no answer from the HttpDNS "
                                            "service");
        }

        ngx_str_set(&ctx->source, "fallback");
        ngx_str_null(&ctx->ips);
        ctx->ttl = 0;

        ips[0] = ctx->domain;
        n = 1;

    } else {
        if (lk->source == NGX_HTTP_LIVE_LOOKUP_STALE) {
            ngx_str_set(&ctx->source, "stale");

        } else {
            ngx_str_set(&ctx->source, "httpdns");
        }

        ctx->ips = lk->value;
        ctx->ttl = lk->ttl;

        n = 0;
        p = lk->value.data;
        last = p + lk->value.len;

        while (p < last && n < NGX_HTTP_HTTPDNS_MAX_ADDRS) {
            ips[n].data = p;
            p = ngx_strlchr(p, last, ',');

            if (p == NULL) {
                p = last;
            }

            ips[n].len = p - ips[n].data;
            n++;
            p++;
        }

        if (n == 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx->answered = 1;

    for (i = 0; i < n; i++) {
        ctx->ip = ips[i];

        if (ngx_http_complex_value(r, hlcf->url, &urls[i]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_httpdns_url_safe(urls[i].data, urls[i].len) != NGX_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "httpdns: rendered URL \"%V\" is not valid",
                          &urls[i]);

            ctx->ip = ips[0];

            return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_url",
                                            "the rendered URL has bytes "
                                            "that cannot go into a URL");
        }
    }

    ctx->ip = ips[0];

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "httpdns: \"%V\" source:%V ips:\"%V\" url:\"%V\"",
                   &ctx->domain, &ctx->source, &ctx->ips, &urls[0]);

    if (!hlcf->redirect) {
        return ngx_http_httpdns_send_json(r, ctx, urls, n);
    }

    return ngx_http_live_redirect(r, &urls[0]);
}


static ngx_int_t
ngx_http_httpdns_send_json(ngx_http_request_t *r,
    ngx_http_httpdns_ctx_t *ctx, ngx_str_t *urls, ngx_uint_t n)
{
    u_char     *p, *last;
    size_t      len;
    ngx_buf_t  *b;
    ngx_uint_t  i;

    len = sizeof("{\"url\":\"\",\"urls\":[],\"ips\":[],\"domain\":\"\","
                 "\"ttl\":,\"source\":\"\"}\n") - 1
          + NGX_TIME_T_LEN + ctx->source.len
          + ngx_http_live_json_escape_len(ctx->domain.data, ctx->domain.len)
          + ngx_http_live_json_escape_len(urls[0].data, urls[0].len)
          + ctx->ips.len + n * sizeof("\"\",\"\",");

    for (i = 0; i < n; i++) {
        len += ngx_http_live_json_escape_len(urls[i].data, urls[i].len);
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, "{\"url\":\"", sizeof("{\"url\":\"") - 1);
    p = ngx_http_live_json_escape(p, urls[0].data, urls[0].len);
    p = ngx_cpymem(p, "\",\"urls\":[", sizeof("\",\"urls\":[") - 1);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        *p++ = '"';
        p = ngx_http_live_json_escape(p, urls[i].data, urls[i].len);
        *p++ = '"';
    }

    p = ngx_cpymem(p, "],\"ips\":[", sizeof("],\"ips\":[") - 1);

    /* the addresses are checked dotted quads: no escaping needed */

    if (ctx->ips.len) {
        *p++ = '"';

        for (i = 0, last = ctx->ips.data; i < ctx->ips.len; i++) {
            if (last[i] == ',') {
                p = ngx_cpymem(p, "\",\"", 3);

            } else {
                *p++ = last[i];
            }
        }

        *p++ = '"';
    }

    p = ngx_cpymem(p, "],\"domain\":\"", sizeof("],\"domain\":\"") - 1);
    p = ngx_http_live_json_escape(p, ctx->domain.data, ctx->domain.len);
    p = ngx_sprintf(p, "\",\"ttl\":%T,\"source\":\"%V\"}\n", ctx->ttl,
                    &ctx->source);

    b->last = p;

    return ngx_http_live_send_json(r, NGX_HTTP_OK, b);
}


static ngx_int_t
ngx_http_httpdns_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p;
    ngx_str_t               *s;
    ngx_http_httpdns_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_httpdns_module);

    if (ctx == NULL
        || (data == NGX_HTTP_HTTPDNS_VAR_STREAM ? ctx->stream.len == 0
                                                : !ctx->answered))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_HTTPDNS_VAR_STREAM:
        s = &ctx->stream;
        break;

    case NGX_HTTP_HTTPDNS_VAR_IP:
        s = &ctx->ip;
        break;

    case NGX_HTTP_HTTPDNS_VAR_IPS:
        s = &ctx->ips;
        break;

    case NGX_HTTP_HTTPDNS_VAR_DOMAIN:
        s = &ctx->domain;
        break;

    case NGX_HTTP_HTTPDNS_VAR_TTL:
        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->len = ngx_sprintf(p, "%T", ctx->ttl) - p;
        v->data = p;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        return NGX_OK;

    default: /* NGX_HTTP_HTTPDNS_VAR_SOURCE */
        s = &ctx->source;
        break;
    }

    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static void *
ngx_http_httpdns_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_httpdns_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_httpdns_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->shm_zone = NULL;
     */

    conf->redirect = NGX_CONF_UNSET;
    conf->dialect = NGX_CONF_UNSET_UINT;
    conf->service = NGX_CONF_UNSET_PTR;
    conf->domain = NGX_CONF_UNSET_PTR;
    conf->url = NGX_CONF_UNSET_PTR;
    conf->client = NGX_CONF_UNSET_PTR;
    conf->prefix4 = NGX_CONF_UNSET_UINT;
    conf->prefix6 = NGX_CONF_UNSET_UINT;
    conf->fallback = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_httpdns_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_httpdns_loc_conf_t *prev = parent;
    ngx_http_httpdns_loc_conf_t *conf = child;

    ngx_str_t                          value;
    ngx_http_compile_complex_value_t   ccv;

    ngx_conf_merge_value(conf->redirect, prev->redirect, 0);
    ngx_conf_merge_uint_value(conf->dialect, prev->dialect,
                              NGX_HTTP_HTTPDNS_DOH);
    ngx_conf_merge_ptr_value(conf->domain, prev->domain, NULL);
    ngx_conf_merge_ptr_value(conf->url, prev->url, NULL);
    ngx_conf_merge_ptr_value(conf->client, prev->client, NULL);
    ngx_conf_merge_uint_value(conf->prefix4, prev->prefix4, 24);
    ngx_conf_merge_uint_value(conf->prefix6, prev->prefix6, 56);
    ngx_conf_merge_value(conf->fallback, prev->fallback, 1);

    ngx_conf_merge_ptr_value(conf->service, prev->service, NULL);

    if (conf->client == NULL) {
        conf->client = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (conf->client == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_str_set(&value, "$remote_addr");

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value;
        ccv.complex_value = conf->client;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (conf->shm_zone == NULL) {
        return NGX_CONF_OK;
    }

    if (conf->service == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"httpdns_alloc\" needs \"httpdns_service\"");
        return NGX_CONF_ERROR;
    }

    if (conf->domain == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"httpdns_alloc\" needs \"httpdns_domain\"");
        return NGX_CONF_ERROR;
    }

    if (conf->url == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"httpdns_alloc\" needs \"httpdns_url\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_httpdns_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ssize_t                       size;
    ngx_str_t                    *value, name, s;
    ngx_int_t                     ms;
    ngx_uint_t                    i;
    ngx_msec_t                    refresh, stale, inactive;
    ngx_http_live_lookup_zone_t  *zone;

    value = cf->args->elts;

    if (ngx_http_live_zone_parse(cf, &value[1], &name, &size) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    refresh = 60000;
    stale = 600000;
    inactive = 600000;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "refresh=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            ms = ngx_parse_time(&s, 0);
            if (ms == NGX_ERROR || ms < 1000) {
                goto invalid;
            }

            refresh = (ngx_msec_t) ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "stale=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            ms = ngx_parse_time(&s, 0);
            if (ms == NGX_ERROR) {
                goto invalid;
            }

            stale = (ngx_msec_t) ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "inactive=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            ms = ngx_parse_time(&s, 0);
            if (ms == NGX_ERROR || ms < 1000) {
                goto invalid;
            }

            inactive = (ngx_msec_t) ms;
            continue;
        }

        goto invalid;
    }

    zone = ngx_http_live_lookup_zone_add(cf, &name, size,
                                         &ngx_http_httpdns_module);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->refresh = refresh;
    zone->stale = stale;
    zone->inactive = inactive;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_httpdns_alloc(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_httpdns_loc_conf_t *hlcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (hlcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    hlcf->shm_zone = ngx_shared_memory_add(cf, &value[1], 0,
                                           &ngx_http_httpdns_module);
    if (hlcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "redirect") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        hlcf->redirect = 1;

    } else {
        hlcf->redirect = 0;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_httpdns_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_httpdns_client_subnet(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_httpdns_loc_conf_t *hlcf = conf;

    ngx_int_t   v4, v6;
    ngx_str_t  *value;

    if (hlcf->prefix4 != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    v4 = ngx_atoi(value[1].data, value[1].len);
    v6 = ngx_atoi(value[2].data, value[2].len);

    if (v4 == NGX_ERROR || v4 > 32) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid IPv4 prefix \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (v6 == NGX_ERROR || v6 > 128) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid IPv6 prefix \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    hlcf->prefix4 = v4;
    hlcf->prefix6 = v6;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_httpdns_add_variables(ngx_conf_t *cf)
{
    return ngx_http_live_add_variables(cf, ngx_http_httpdns_vars);
}
