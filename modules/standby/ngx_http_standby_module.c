
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_md5.h>
#include "ngx_http_live_common.h"
#include "ngx_http_live_lookup.h"
#include "ngx_http_live_zone.h"
#include "ngx_http_standby_parse.h"
#include "ngx_http_live_playlist.h"


#define NGX_HTTP_STANDBY_SKIPPED    1
#define NGX_HTTP_STANDBY_LOCAL      2
#define NGX_HTTP_STANDBY_REDIRECTED 3

/* standbys whose failure is remembered at once, per http{} */
#define NGX_HTTP_STANDBY_RETRY_SLOTS  64


typedef struct {
    ngx_str_t                   root;
    ngx_uint_t                  max_conns;
    ngx_uint_t                  max_load;      /* x 100; 0: not checked */
    ngx_str_t                   origin;        /* scheme://authority */
    ngx_str_t                   prefix;        /* path before the uri */
    ngx_str_t                   host;
    ngx_uint_t                  port;
} ngx_http_standby_check_t;


typedef struct {
    ngx_http_complex_value_t   *redirect;
    ngx_http_complex_value_t   *secret;
    time_t                      secret_ttl;
    time_t                      cache;
    ngx_msec_t                  retry;
    ngx_http_standby_check_t   *check;
} ngx_http_standby_loc_conf_t;


typedef struct {
    uint32_t                    hash;
    ngx_msec_t                  until;
} ngx_http_standby_retry_t;


typedef struct {
    ngx_http_standby_retry_t    slot[NGX_HTTP_STANDBY_RETRY_SLOTS];
} ngx_http_standby_retry_sh_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;      /* the answers */
    ngx_shm_zone_t             *retry_zone;    /* failing standbys */
    ngx_str_t                   name;
    ssize_t                     size;
    ngx_flag_t                  enabled;

    /* this worker's reading of the load average */
    time_t                      load_time;
    ngx_uint_t                  load;
} ngx_http_standby_main_conf_t;


typedef struct {
    ngx_http_live_lookup_t      lookup;
    ngx_uint_t                  action;
    char                       *reason;
    ngx_uint_t                  status;        /* the check's own status */
    uint32_t                    standby;       /* hash of the check path */
    unsigned                    checking:1;
} ngx_http_standby_ctx_t;


static ngx_int_t ngx_http_standby_redirect_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_standby_start(ngx_http_request_t *r,
    ngx_http_standby_loc_conf_t *slcf, ngx_http_standby_ctx_t *ctx);
static ngx_int_t ngx_http_standby_key(ngx_http_request_t *r,
    ngx_http_standby_ctx_t *ctx);
static ngx_int_t ngx_http_standby_decide(ngx_http_request_t *r,
    ngx_http_standby_loc_conf_t *slcf, ngx_http_standby_ctx_t *ctx);
static ngx_int_t ngx_http_standby_redirect(ngx_http_request_t *r,
    ngx_http_standby_loc_conf_t *slcf, ngx_str_t *url);
static u_char *ngx_http_standby_sign(ngx_http_request_t *r,
    ngx_http_standby_loc_conf_t *slcf, ngx_str_t *url, u_char *p);
static ngx_int_t ngx_http_standby_local(ngx_http_request_t *r,
    ngx_http_standby_ctx_t *ctx, ngx_uint_t action, char *reason);
static ngx_int_t ngx_http_standby_parse(ngx_http_request_t *r,
    ngx_http_live_lookup_answer_t *a, void *data);
static ngx_int_t ngx_http_standby_header_filter(ngx_http_request_t *r);
static ngx_uint_t ngx_http_standby_retry_active(ngx_http_request_t *r,
    ngx_http_standby_main_conf_t *smcf, uint32_t hash);
static void ngx_http_standby_retry_start(ngx_http_standby_main_conf_t *smcf,
    uint32_t hash, ngx_msec_t retry);
static ngx_int_t ngx_http_standby_check_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_standby_check_media(ngx_http_request_t *r,
    ngx_http_standby_check_t *sc, ngx_str_t *uri, char **detail);
static ngx_int_t ngx_http_standby_check_playlist(ngx_http_request_t *r,
    ngx_str_t *path, ngx_open_file_info_t *of, char **detail);
static ngx_uint_t ngx_http_standby_overloaded(ngx_http_request_t *r,
    ngx_http_standby_check_t *sc);
static ngx_int_t ngx_http_standby_check_answer(ngx_http_request_t *r,
    ngx_http_standby_check_t *sc, ngx_str_t *uri);
static ngx_int_t ngx_http_standby_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_standby_uri_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void *ngx_http_standby_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_standby_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_standby_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_standby_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_standby_redirect_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_uint_t ngx_http_standby_decoded_uri(ngx_str_t *value);
static char *ngx_http_standby_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_standby_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_standby_check(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_standby_check_base(ngx_conf_t *cf,
    ngx_http_standby_check_t *sc, ngx_str_t *base);
static ngx_int_t ngx_http_standby_init_retry_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_standby_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_standby_init(ngx_conf_t *cf);


static ngx_conf_num_bounds_t  ngx_http_standby_cache_bounds = {
    ngx_conf_check_num_bounds, 1, 86400
};


static ngx_command_t  ngx_http_standby_commands[] = {

    { ngx_string("standby_check"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_standby_check,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("standby_redirect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_standby_redirect_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("standby_redirect_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_standby_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("standby_redirect_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_standby_loc_conf_t, cache),
      &ngx_http_standby_cache_bounds },

    { ngx_string("standby_redirect_retry"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_standby_loc_conf_t, retry),
      NULL },

    { ngx_string("standby_redirect_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_standby_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_standby_module_ctx = {
    ngx_http_standby_add_variables,        /* preconfiguration */
    ngx_http_standby_init,                 /* postconfiguration */

    ngx_http_standby_create_main_conf,     /* create main configuration */
    ngx_http_standby_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_standby_create_loc_conf,      /* create location configuration */
    ngx_http_standby_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_standby_module = {
    NGX_MODULE_V1,
    &ngx_http_standby_module_ctx,          /* module context */
    ngx_http_standby_commands,             /* module directives */
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


static ngx_http_variable_t  ngx_http_standby_vars[] = {

    { ngx_string("standby_action"), NULL, ngx_http_standby_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("standby_reason"), NULL, ngx_http_standby_variable,
      1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("standby_uri"), NULL, ngx_http_standby_uri_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_standby_actions[] = {
    ngx_null_string,
    ngx_string("skipped"),
    ngx_string("local"),
    ngx_string("redirect")
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


static ngx_int_t
ngx_http_standby_redirect_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_standby_ctx_t        *ctx;
    ngx_http_standby_loc_conf_t   *slcf;
    ngx_http_standby_main_conf_t  *smcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_standby_module);

    /*
     * a check is never sent on: with standby_redirect inherited into the
     * check location, two controllers' checks would wait on each other
     */

    if (slcf->redirect == NULL || slcf->check || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_standby_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_standby_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_standby_module);

        rc = ngx_http_standby_start(r, slcf, ctx);

        if (rc != NGX_OK) {
            return rc;
        }

    } else if (ctx->action) {
        return NGX_DECLINED;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_standby_module);

    ctx->checking = 1;

    rc = ngx_http_live_lookup(r, smcf->shm_zone, &ctx->lookup);

    if (rc == NGX_AGAIN) {
        /* the lookup runs the phases again when the answer is in */
        return NGX_AGAIN;
    }

    ctx->checking = 0;

    if (rc != NGX_OK) {
        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_LOCAL,
                                      "error");
    }

    return ngx_http_standby_decide(r, slcf, ctx);
}


/*
 * Is the request a candidate, and which check does it need?  NGX_OK to
 * look the answer up, NGX_DECLINED when it is served here at once.
 */

static ngx_int_t
ngx_http_standby_start(ngx_http_request_t *r,
    ngx_http_standby_loc_conf_t *slcf, ngx_http_standby_ctx_t *ctx)
{
    u_char                        *p, *last, *q;
    size_t                         len;
    uintptr_t                      escape;
    ngx_str_t                      check, hop;
    ngx_http_live_lookup_t        *lk;
    ngx_http_standby_main_conf_t  *smcf;

    static u_char                  hex[] = "0123456789ABCDEF";

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_SKIPPED,
                                      "method");
    }

    /* an error page answers what was asked; it is not media to send on */

    if (r->error_page) {
        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_SKIPPED,
                                      "error_page");
    }

    /* a request the other controller redirected stays where it is */

    if (ngx_http_arg(r, (u_char *) "standby_hop", sizeof("standby_hop") - 1,
                     &hop)
        == NGX_OK)
    {
        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_SKIPPED,
                                      "hop");
    }

    if (ngx_http_complex_value(r, slcf->redirect, &check) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lk = &ctx->lookup;

    p = check.data;
    last = p + check.len;
    q = ngx_strlchr(p, last, '?');

    lk->uri.data = p;
    lk->uri.len = (q ? q : last) - p;

    if (lk->uri.len == 0 || lk->uri.data[0] != '/') {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "standby: invalid check uri \"%V\"", &check);
        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_LOCAL,
                                      "error");
    }

    if (q) {
        /*
         * bytes that would break the request line to the standby, such
         * as a space in $uri, are escaped; "&" and "=" are the user's
         */

        q++;
        len = last - q;
        escape = 0;

        for (p = q; p < last; p++) {
            if (*p <= 0x20 || *p >= 0x7f || *p == '#') {
                escape++;
            }
        }

        if (escape) {
            p = ngx_pnalloc(r->pool, len + 2 * escape);
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            lk->args.data = p;

            for ( /* void */ ; q < last; q++) {
                if (*q <= 0x20 || *q >= 0x7f || *q == '#') {
                    *p++ = '%';
                    *p++ = hex[*q >> 4];
                    *p++ = hex[*q & 0xf];

                } else {
                    *p++ = *q;
                }
            }

            lk->args.len = p - lk->args.data;

        } else {
            lk->args.data = q;
            lk->args.len = len;
        }
    }

    if (ngx_http_standby_key(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lk->parse = ngx_http_standby_parse;
    lk->data = slcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_standby_module);

    if (ngx_http_standby_retry_active(r, smcf, ctx->standby)) {
        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_LOCAL,
                                      "retry");
    }

    return NGX_OK;
}


/*
 * The key is the check as the standby gets it, and the server that asks:
 * the same internal location URI may lead to another standby in another
 * server.  A standby is known by its internal location in its server.
 */

static ngx_int_t
ngx_http_standby_key(ngx_http_request_t *r, ngx_http_standby_ctx_t *ctx)
{
    u_char                    *p, *server;
    size_t                     len;
    uint32_t                   crc;
    ngx_uint_t                 port;
    ngx_http_live_lookup_t    *lk;
    ngx_http_core_srv_conf_t  *cscf;

    lk = &ctx->lookup;
    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    len = lk->uri.len + 1 + lk->args.len + 1 + cscf->server_name.len + 1
          + NGX_INT_T_LEN;

    lk->key.data = ngx_pnalloc(r->pool, len);
    if (lk->key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(lk->key.data, lk->uri.data, lk->uri.len);
    *p++ = '?';
    p = ngx_cpymem(p, lk->args.data, lk->args.len);

    server = p;
    port = ngx_inet_get_port(r->connection->local_sockaddr);
    p = ngx_sprintf(p, " %V:%ui", &cscf->server_name, port);

    lk->key.len = p - lk->key.data;

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, lk->uri.data, lk->uri.len);
    ngx_crc32_update(&crc, server, p - server);
    ngx_crc32_final(crc);

    ctx->standby = crc;

    return NGX_OK;
}


static ngx_int_t
ngx_http_standby_decide(ngx_http_request_t *r,
    ngx_http_standby_loc_conf_t *slcf, ngx_http_standby_ctx_t *ctx)
{
    ngx_str_t                      url;
    ngx_http_live_lookup_t        *lk;
    ngx_http_standby_main_conf_t  *smcf;

    lk = &ctx->lookup;

    if (lk->source == NGX_HTTP_LIVE_LOOKUP_NONE || lk->value.len == 0) {

        /* the check failed now or a moment ago: leave the standby be */

        smcf = ngx_http_get_module_main_conf(r, ngx_http_standby_module);
        ngx_http_standby_retry_start(smcf, ctx->standby, slcf->retry);

        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_LOCAL,
                                      "failed");
    }

    switch (lk->value.data[0]) {

    case NGX_HTTP_STANDBY_REDIRECT:
        break;

    case NGX_HTTP_STANDBY_NOT_FOUND:
        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_LOCAL,
                                      "not_found");

    case NGX_HTTP_STANDBY_OVERLOADED:
        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_LOCAL,
                                      "overloaded");

    default: /* NGX_HTTP_STANDBY_BAD_URI */
        return ngx_http_standby_local(r, ctx, NGX_HTTP_STANDBY_LOCAL,
                                      "bad_uri");
    }

    url.data = lk->value.data + 1;
    url.len = lk->value.len - 1;

    ctx->action = NGX_HTTP_STANDBY_REDIRECTED;
    ctx->reason = "available";

    return ngx_http_standby_redirect(r, slcf, &url);
}


/*
 * 302 to the url the standby gave, with the client's arguments (less
 * ours), the signature, and the hop marker last.
 */

static ngx_int_t
ngx_http_standby_redirect(ngx_http_request_t *r,
    ngx_http_standby_loc_conf_t *slcf, ngx_str_t *url)
{
    u_char     *p, *last, *arg, *end, *eq;
    size_t      len, name;
    ngx_str_t   location;

    len = url->len + sizeof("?") - 1 + r->args.len + sizeof("&") - 1
          + sizeof("md5=&expires=&") - 1 + 22 + NGX_TIME_T_LEN
          + sizeof("standby_hop=1") - 1;

    location.data = ngx_pnalloc(r->pool, len);
    if (location.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(location.data, url->data, url->len);
    *p++ = '?';

    last = r->args.data + r->args.len;

    for (arg = r->args.data; arg < last; arg = end + 1) {

        end = ngx_strlchr(arg, last, '&');
        if (end == NULL) {
            end = last;
        }

        eq = ngx_strlchr(arg, end, '=');
        name = (eq ? eq : end) - arg;

        /* $arg_md5 of secure_link takes the first, in any case */

        if (name == 0
            || (name == 3 && slcf->secret
                && ngx_strncasecmp(arg, (u_char *) "md5", 3) == 0)
            || (name == 7 && slcf->secret
                && ngx_strncasecmp(arg, (u_char *) "expires", 7) == 0))
        {
            continue;
        }

        p = ngx_cpymem(p, arg, end - arg);
        *p++ = '&';
    }

    if (slcf->secret) {
        p = ngx_http_standby_sign(r, slcf, url, p);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    p = ngx_cpymem(p, "standby_hop=1", sizeof("standby_hop=1") - 1);

    location.len = p - location.data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "standby: redirect to \"%V\"", &location);

    return ngx_http_live_redirect(r, &location);
}


/*
 * md5= and expires= as stock secure_link on the standby checks them with
 * secure_link_md5 "$secure_link_expires$uri <secret>"; $uri there is the
 * decoded path of the url.
 */

static u_char *
ngx_http_standby_sign(ngx_http_request_t *r,
    ngx_http_standby_loc_conf_t *slcf, ngx_str_t *url, u_char *p)
{
    u_char     *path, *last, *d, *s;
    time_t      expires;
    u_char      hash[16], tbuf[NGX_TIME_T_LEN];
    ngx_str_t   secret, src, dst;
    ngx_md5_t   md5;

    if (ngx_http_complex_value(r, slcf->secret, &secret) != NGX_OK) {
        return NULL;
    }

    /* the url was checked: "scheme://authority/path" */

    last = url->data + url->len;
    path = ngx_strlchr(url->data, last, ':') + sizeof("://") - 1;
    path = ngx_strlchr(path, last, '/');

    d = ngx_pnalloc(r->pool, last - path);
    if (d == NULL) {
        return NULL;
    }

    src.data = d;
    s = path;
    ngx_unescape_uri(&d, &s, last - path, 0);
    src.len = d - src.data;

    expires = ngx_time() + slcf->secret_ttl;

    ngx_md5_init(&md5);
    ngx_md5_update(&md5, tbuf, ngx_sprintf(tbuf, "%T", expires) - tbuf);
    ngx_md5_update(&md5, src.data, src.len);
    ngx_md5_update(&md5, " ", 1);
    ngx_md5_update(&md5, secret.data, secret.len);
    ngx_md5_final(hash, &md5);

    src.data = hash;
    src.len = 16;

    p = ngx_cpymem(p, "md5=", sizeof("md5=") - 1);
    dst.data = p;
    ngx_encode_base64url(&dst, &src);
    p += dst.len;

    return ngx_sprintf(p, "&expires=%T&", expires);
}


static ngx_int_t
ngx_http_standby_local(ngx_http_request_t *r, ngx_http_standby_ctx_t *ctx,
    ngx_uint_t action, char *reason)
{
    ctx->action = action;
    ctx->reason = reason;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "standby: \"%V\" %V, %s", &r->uri,
                   &ngx_http_standby_actions[action], reason);

    return NGX_DECLINED;
}


/*
 * The parser of a check answer (r is the check's subrequest).  What is
 * cached is one verdict byte, and the url of a redirect.
 */

static ngx_int_t
ngx_http_standby_parse(ngx_http_request_t *r,
    ngx_http_live_lookup_answer_t *a, void *data)
{
    ngx_http_standby_loc_conf_t *slcf = data;

    u_char                     *buf, *p;
    char                       *err;
    ngx_str_t                  *peer;
    ngx_uint_t                  status;
    ngx_http_standby_ctx_t     *ctx;
    ngx_http_standby_answer_t   ans;

    ctx = ngx_http_get_module_ctx(r->parent, ngx_http_standby_module);

    status = (ctx && ctx->status) ? ctx->status : a->status;

    /* the address this check went to: the only one a url may name */

    peer = NULL;

    if (r->upstream && r->upstream->state) {
        peer = r->upstream->state->peer;
    }

    buf = ngx_pnalloc(r->pool, a->body.len + 1);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_standby_parse_answer(status, a->body.data, a->body.len,
                                      peer, buf, &ans, &err)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "standby: answer of \"%V\" refused: %s",
                      peer ? peer : &r->uri, err);
        a->err = err;
        return NGX_DECLINED;
    }

    a->value.data = ngx_pnalloc(r->pool, 1 + ans.url.len);
    if (a->value.data == NULL) {
        return NGX_ERROR;
    }

    p = a->value.data;
    *p++ = (u_char) ans.verdict;
    p = ngx_cpymem(p, ans.url.data, ans.url.len);

    a->value.len = p - a->value.data;
    a->ttl = slcf->cache;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "standby: check %ui, verdict %ui \"%V\"",
                   status, ans.verdict, &ans.url);

    return NGX_OK;
}


/*
 * The lookup cache takes 2xx answers only; the "no" of a standby is an
 * answer too, to be cached.  Its status is kept for the parser.
 */

static ngx_int_t
ngx_http_standby_header_filter(ngx_http_request_t *r)
{
    ngx_http_standby_ctx_t  *ctx;

    if (r == r->main || r->post_subrequest == NULL) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r->parent, ngx_http_standby_module);

    if (ctx == NULL || !ctx->checking) {
        return ngx_http_next_header_filter(r);
    }

    ctx->status = r->headers_out.status;

    if (ctx->status == NGX_HTTP_BAD_REQUEST
        || ctx->status == NGX_HTTP_NOT_FOUND
        || ctx->status == NGX_HTTP_SERVICE_UNAVAILABLE)
    {
        r->headers_out.status = NGX_HTTP_OK;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_uint_t
ngx_http_standby_retry_active(ngx_http_request_t *r,
    ngx_http_standby_main_conf_t *smcf, uint32_t hash)
{
    ngx_uint_t                 i, active;
    ngx_slab_pool_t           *shpool;
    ngx_http_standby_retry_t  *slot;

    shpool = (ngx_slab_pool_t *) smcf->retry_zone->shm.addr;
    slot = ((ngx_http_standby_retry_sh_t *) smcf->retry_zone->data)->slot;
    active = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_HTTP_STANDBY_RETRY_SLOTS; i++) {
        if (slot[i].hash == hash && slot[i].until) {
            active = (ngx_msec_int_t) (slot[i].until - ngx_current_msec) > 0;
            break;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return active;
}


/* a slot for the standby, else the one whose window ended first */

static void
ngx_http_standby_retry_start(ngx_http_standby_main_conf_t *smcf,
    uint32_t hash, ngx_msec_t retry)
{
    ngx_uint_t                 i, n;
    ngx_slab_pool_t           *shpool;
    ngx_http_standby_retry_t  *slot;

    if (retry == 0) {
        return;
    }

    shpool = (ngx_slab_pool_t *) smcf->retry_zone->shm.addr;
    slot = ((ngx_http_standby_retry_sh_t *) smcf->retry_zone->data)->slot;
    n = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_HTTP_STANDBY_RETRY_SLOTS; i++) {
        if (slot[i].hash == hash) {
            n = i;
            break;
        }

        if ((ngx_msec_int_t) (slot[i].until - slot[n].until) < 0) {
            n = i;
        }
    }

    /* a window is not made longer by requests that saw its failure */

    if (slot[n].hash != hash
        || (ngx_msec_int_t) (slot[n].until - ngx_current_msec) <= 0)
    {
        slot[n].hash = hash;
        slot[n].until = ngx_current_msec + retry;
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


static ngx_int_t
ngx_http_standby_check_handler(ngx_http_request_t *r)
{
    u_char                       *buf;
    char                         *err;
    ngx_int_t                     rc;
    ngx_str_t                     arg, uri;
    ngx_http_standby_loc_conf_t  *slcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_standby_module);

    if (ngx_http_arg(r, (u_char *) "uri", 3, &arg) != NGX_OK) {
        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST, "bad_uri",
                                        "no uri argument");
    }

    buf = ngx_pnalloc(r->pool, NGX_HTTP_STANDBY_URI_MAX);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_standby_parse_uri(&arg, buf, &uri, &err) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "standby: check refused: %s", err);
        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST, "bad_uri",
                                        err);
    }

    rc = ngx_http_standby_check_media(r, slcf->check, &uri, &err);

    if (rc == NGX_DECLINED) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "standby: check \"%V\": %s", &uri, err);
        return ngx_http_live_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        err);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_standby_overloaded(r, slcf->check)) {
        return ngx_http_live_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "overloaded", "over the limits");
    }

    return ngx_http_standby_check_answer(r, slcf->check, &uri);
}


/*
 * A regular file under root, found the way the static module finds it
 * (open_file_cache, disable_symlinks); a playlist must be live.
 * NGX_DECLINED with detail set when there is no such media.
 */

static ngx_int_t
ngx_http_standby_check_media(ngx_http_request_t *r,
    ngx_http_standby_check_t *sc, ngx_str_t *uri, char **detail)
{
    u_char                    *p;
    ngx_str_t                  path;
    ngx_uint_t                 playlist;
    ngx_open_file_info_t       of;
    ngx_http_core_loc_conf_t  *clcf;

    path.len = sc->root.len + uri->len;
    path.data = ngx_pnalloc(r->pool, path.len + 1);
    if (path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(path.data, sc->root.data, sc->root.len);
    p = ngx_cpymem(p, uri->data, uri->len);
    *p = '\0';

    playlist = uri->len > 5
               && ngx_strncasecmp(uri->data + uri->len - 5,
                                  (u_char *) ".m3u8", 5) == 0;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_memzero(&of, sizeof(ngx_open_file_info_t));

    of.read_ahead = clcf->read_ahead;
    of.directio = NGX_MAX_OFF_T_VALUE;
    of.valid = clcf->open_file_cache_valid;
    of.min_uses = clcf->open_file_cache_min_uses;
    of.errors = clcf->open_file_cache_errors;
    of.events = clcf->open_file_cache_events;
    of.test_only = playlist ? 0 : 1;

    if (ngx_http_set_disable_symlinks(r, clcf, &path, &of) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_open_cached_file(clcf->open_file_cache, &path, &of, r->pool)
        != NGX_OK)
    {
        switch (of.err) {

        case 0:
            return NGX_HTTP_INTERNAL_SERVER_ERROR;

        case NGX_ENOENT:
        case NGX_ENOTDIR:
        case NGX_ENAMETOOLONG:
            *detail = "no such file";
            break;

        case NGX_EACCES:
#if (NGX_HAVE_OPENAT)
        case NGX_EMLINK:
        case NGX_ELOOP:
#endif
            *detail = "not allowed";
            break;

        default:
            ngx_log_error(NGX_LOG_CRIT, r->connection->log, of.err,
                          "standby: %s \"%s\" failed", of.failed, path.data);
            *detail = "not readable";
            break;
        }

        return NGX_DECLINED;
    }

    if (!of.is_file) {
        *detail = "not a regular file";
        return NGX_DECLINED;
    }

    if (playlist) {
        return ngx_http_standby_check_playlist(r, &path, &of, detail);
    }

    return NGX_OK;
}


/* a live playlist was rewritten within two target durations */

static ngx_int_t
ngx_http_standby_check_playlist(ngx_http_request_t *r, ngx_str_t *path,
    ngx_open_file_info_t *of, char **detail)
{
    u_char                    *buf;
    ssize_t                    n;
    ngx_file_t                 file;
    ngx_http_live_playlist_t  *pl;

    if (of->size > NGX_HTTP_LIVE_PLAYLIST_MAX_SIZE) {
        *detail = "playlist too big";
        return NGX_DECLINED;
    }

    buf = ngx_pnalloc(r->pool, (size_t) of->size + 1);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pl = ngx_palloc(r->pool, sizeof(ngx_http_live_playlist_t));
    if (pl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.fd = of->fd;
    file.name = *path;
    file.log = r->connection->log;

    n = ngx_read_file(&file, buf, (size_t) of->size, 0);

    if (n == NGX_ERROR) {
        *detail = "playlist not readable";
        return NGX_DECLINED;
    }

    buf[n] = '\0';

    ngx_memzero(pl, sizeof(ngx_http_live_playlist_t));

    if (ngx_http_live_playlist_parse(buf, n, pl) != NGX_OK) {

        if (pl->master) {
            /* variants are checked when they are asked for */
            return NGX_OK;
        }

        *detail = "not a media playlist";
        return NGX_DECLINED;
    }

    if (ngx_strstr(buf, "#EXT-X-ENDLIST")) {
        return NGX_OK;
    }

    if (of->mtime + 2 * (time_t) pl->target_duration < ngx_time()) {
        *detail = "playlist not updated within two target durations";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Active client connections as stub_status counts them (the check's own
 * included), and the 1-minute load average read at most once a second.
 */

static ngx_uint_t
ngx_http_standby_overloaded(ngx_http_request_t *r,
    ngx_http_standby_check_t *sc)
{
    double                         load;
    ngx_http_standby_main_conf_t  *smcf;
#if (NGX_STAT_STUB)
    ngx_atomic_int_t               active;

    active = *ngx_stat_active;

    if (active > (ngx_atomic_int_t) sc->max_conns) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "standby: overloaded, %A active connections of %ui",
                       active, sc->max_conns);
        return 1;
    }
#endif

    if (sc->max_load == 0) {
        return 0;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_standby_module);

    if (smcf->load_time != ngx_time()) {
        smcf->load_time = ngx_time();

        if (getloadavg(&load, 1) == 1) {
            smcf->load = (ngx_uint_t) (load * 100);
        }
    }

    if (smcf->load >= sc->max_load) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "standby: overloaded, load %ui of %ui (x100)",
                       smcf->load, sc->max_load);
        return 1;
    }

    return 0;
}


static ngx_int_t
ngx_http_standby_check_answer(ngx_http_request_t *r,
    ngx_http_standby_check_t *sc, ngx_str_t *uri)
{
    u_char     *p;
    size_t      len;
    ngx_buf_t  *b;
    ngx_str_t   path;

    /* the url path: the prefix and the uri, escaped */

    len = sc->prefix.len + uri->len
          + 2 * ngx_escape_uri(NULL, uri->data, uri->len, NGX_ESCAPE_URI);

    path.data = ngx_pnalloc(r->pool, len);
    if (path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(path.data, sc->prefix.data, sc->prefix.len);
    p = (u_char *) ngx_escape_uri(p, uri->data, uri->len, NGX_ESCAPE_URI);
    path.len = p - path.data;

    len = sizeof("{\"url\":\"\",\"host\":\"\",\"port\":,\"path\":\"\"}\n") - 1
          + sc->origin.len + sc->host.len + NGX_INT_T_LEN
          + 2 * ngx_http_live_json_escape_len(path.data, path.len);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, "{\"url\":\"", sizeof("{\"url\":\"") - 1);
    p = ngx_cpymem(p, sc->origin.data, sc->origin.len);
    p = ngx_http_live_json_escape(p, path.data, path.len);
    p = ngx_sprintf(p, "\",\"host\":\"%V\",\"port\":%ui,\"path\":\"",
                    &sc->host, sc->port);
    p = ngx_http_live_json_escape(p, path.data, path.len);
    p = ngx_cpymem(p, "\"}\n", sizeof("\"}\n") - 1);

    b->last = p;

    return ngx_http_live_send_json(r, NGX_HTTP_OK, b);
}


static ngx_int_t
ngx_http_standby_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_standby_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_standby_module);

    if (ctx == NULL || ctx->action == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == 0) {
        v->data = ngx_http_standby_actions[ctx->action].data;
        v->len = ngx_http_standby_actions[ctx->action].len;

    } else {
        v->data = (u_char *) ctx->reason;
        v->len = ngx_strlen(ctx->reason);
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* $uri escaped for a query argument, as the "uri" of a check */

static ngx_int_t
ngx_http_standby_uri_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char  *p;
    size_t   len;

    len = r->uri.len
          + 2 * ngx_escape_uri(NULL, r->uri.data, r->uri.len,
                               NGX_ESCAPE_ARGS);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    p = (u_char *) ngx_escape_uri(p, r->uri.data, r->uri.len,
                                  NGX_ESCAPE_ARGS);
    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static void *
ngx_http_standby_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_standby_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_standby_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     smcf->shm_zone = NULL;
     *     smcf->retry_zone = NULL;
     *     smcf->name = { 0, NULL };
     *     smcf->enabled = 0;
     *     smcf->load_time = 0;
     *     smcf->load = 0;
     */

    smcf->size = NGX_CONF_UNSET;

    return smcf;
}


/* the zones exist when some location redirects */

static char *
ngx_http_standby_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_standby_main_conf_t *smcf = conf;

    ngx_str_t                     name;
    ngx_http_live_lookup_zone_t  *zone;

    if (!smcf->enabled) {
        return NGX_CONF_OK;
    }

    if (smcf->size == NGX_CONF_UNSET) {
        ngx_str_set(&smcf->name, "standby_redirect");
        smcf->size = 1024 * 1024;
    }

    zone = ngx_http_live_lookup_zone_add(cf, &smcf->name, smcf->size,
                                         &ngx_http_standby_module);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    /*
     * each answer lives for its location's standby_redirect_cache, set
     * as its ttl; a failure backs off one key for a second, the standby
     * for its standby_redirect_retry
     */

    zone->refresh = 86400 * 1000;
    zone->stale = 0;
    zone->inactive = 60000;
    zone->retry = 1000;

    smcf->shm_zone = zone->lru->shm_zone;

    name.len = smcf->name.len + sizeof("_retry") - 1;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(name.data, "%V_retry", &smcf->name);

    smcf->retry_zone = ngx_http_live_shm_add(cf, &name, 8 * ngx_pagesize,
                                             &ngx_http_standby_module,
                                             ngx_http_standby_init_retry_zone,
                                             NULL);
    if (smcf->retry_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_standby_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_standby_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_standby_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     slcf->check = NULL;
     */

    slcf->redirect = NGX_CONF_UNSET_PTR;
    slcf->secret = NGX_CONF_UNSET_PTR;
    slcf->secret_ttl = NGX_CONF_UNSET;
    slcf->cache = NGX_CONF_UNSET;
    slcf->retry = NGX_CONF_UNSET_MSEC;

    return slcf;
}


static char *
ngx_http_standby_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_standby_loc_conf_t *prev = parent;
    ngx_http_standby_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->redirect, prev->redirect, NULL);

    if (conf->secret == NGX_CONF_UNSET_PTR) {
        conf->secret = prev->secret;
        conf->secret_ttl = prev->secret_ttl;
    }

    ngx_conf_merge_ptr_value(conf->secret, prev->secret, NULL);
    ngx_conf_merge_sec_value(conf->secret_ttl, prev->secret_ttl, 60);
    ngx_conf_merge_sec_value(conf->cache, prev->cache, 1);
    ngx_conf_merge_msec_value(conf->retry, prev->retry, 5000);

    return NGX_CONF_OK;
}


static char *
ngx_http_standby_redirect_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_standby_loc_conf_t *slcf = conf;

    ngx_str_t                         *value;
    ngx_http_standby_main_conf_t      *smcf;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->redirect != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        slcf->redirect = NULL;
        return NGX_CONF_OK;
    }

    if (value[1].data[0] != '/' && value[1].data[0] != '$') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid check uri \"%V\", must start with \"/\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    slcf->redirect = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (slcf->redirect == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = slcf->redirect;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /*
     * $uri is decoded, and the standby decodes "uri" once more: a client
     * asking for "/a%252Fb" would be sent to "/a/b", past the access
     * checks made for "/a%2Fb"
     */

    if (ngx_http_standby_decoded_uri(&value[1])) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"%V\" uses a decoded $uri, which the standby "
                           "decodes again; use $standby_uri", &value[1]);
    }

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_standby_module);
    smcf->enabled = 1;

    return NGX_CONF_OK;
}


/* does the value use $uri or $document_uri, which nginx has decoded? */

static ngx_uint_t
ngx_http_standby_decoded_uri(ngx_str_t *value)
{
    u_char     *p, *last, *name;
    ngx_uint_t  brace;

    last = value->data + value->len;

    for (p = value->data; p < last; p++) {

        if (*p != '$') {
            continue;
        }

        brace = (p + 1 < last && p[1] == '{');
        name = p + 1 + brace;

        for (p = name; p < last; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                  || (*p >= '0' && *p <= '9') || *p == '_'))
            {
                break;
            }
        }

        if ((p - name == 3
             && ngx_strncasecmp(name, (u_char *) "uri", 3) == 0)
            || (p - name == 12
                && ngx_strncasecmp(name, (u_char *) "document_uri", 12)
                   == 0))
        {
            return 1;
        }

        p--;
    }

    return 0;
}


static char *
ngx_http_standby_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_standby_loc_conf_t *slcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->secret != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty secret");
        return NGX_CONF_ERROR;
    }

    slcf->secret = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (slcf->secret == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = slcf->secret;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    slcf->secret_ttl = 60;

    if (cf->args->nelts == 3) {
        slcf->secret_ttl = ngx_parse_time(&value[2], 1);

        if (slcf->secret_ttl == (time_t) NGX_ERROR || slcf->secret_ttl < 1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid lifetime \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_standby_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_standby_main_conf_t *smcf = conf;

    ngx_str_t  *value;

    if (smcf->size != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_live_zone_parse(cf, &value[1], &smcf->name, &smcf->size);
}


static char *
ngx_http_standby_check(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_standby_loc_conf_t *slcf = conf;

    ngx_str_t                 *value, s;
    ngx_int_t                  n;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_standby_check_t  *sc;

    if (slcf->check) {
        return "is duplicate";
    }

    sc = ngx_pcalloc(cf->pool, sizeof(ngx_http_standby_check_t));
    if (sc == NULL) {
        return NGX_CONF_ERROR;
    }

    sc->max_conns = NGX_CONF_UNSET_UINT;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "root=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            /* "/srv/media/" and "/srv/media" are one root */

            while (s.len > 1 && s.data[s.len - 1] == '/') {
                s.len--;
            }

            if (s.len == 0) {
                goto invalid;
            }

            sc->root = s;

            if (ngx_conf_full_name(cf->cycle, &sc->root, 0) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            if (sc->root.len == 1) {
                /* "/" itself: the uri brings its own slash */
                sc->root.len = 0;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_conns=", 10) == 0) {
            n = ngx_atoi(value[i].data + 10, value[i].len - 10);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            sc->max_conns = n;

#if !(NGX_STAT_STUB)
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"max_conns\" needs nginx built with "
                               "ngx_http_stub_status_module");
            return NGX_CONF_ERROR;
#else
            continue;
#endif
        }

        if (ngx_strncmp(value[i].data, "max_load=", 9) == 0) {
            n = ngx_atofp(value[i].data + 9, value[i].len - 9, 2);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            sc->max_load = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "base=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (ngx_http_standby_check_base(cf, sc, &s) != NGX_CONF_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        goto invalid;
    }

    if (sc->root.data == NULL || sc->origin.data == NULL
        || sc->max_conns == NGX_CONF_UNSET_UINT)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"standby_check\" needs root=, max_conns= "
                           "and base=");
        return NGX_CONF_ERROR;
    }

    slcf->check = sc;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_standby_check_handler;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/* base=http[s]://host[:port][/prefix]: where the standby serves media */

static char *
ngx_http_standby_check_base(ngx_conf_t *cf, ngx_http_standby_check_t *sc,
    ngx_str_t *base)
{
    u_char     *p, *last, *host;
    size_t      skip;
    ngx_int_t   port;

    p = base->data;
    last = p + base->len;

    if (base->len > 7 && ngx_strncmp(p, "http://", 7) == 0) {
        skip = 7;
        sc->port = 80;

    } else if (base->len > 8 && ngx_strncmp(p, "https://", 8) == 0) {
        skip = 8;
        sc->port = 443;

    } else {
        goto invalid;
    }

    host = p + skip;

    if (*host == '[') {
        p = ngx_strlchr(host, last, ']');
        if (p == NULL) {
            goto invalid;
        }

        p++;

    } else {
        for (p = host; p < last && *p != ':' && *p != '/'; p++) {
            /* void */
        }
    }

    if (p == host) {
        goto invalid;
    }

    sc->host.data = host;
    sc->host.len = p - host;

    if (p < last && *p == ':') {
        for (host = ++p; p < last && *p != '/'; p++) {
            /* void */
        }

        port = ngx_atoi(host, p - host);
        if (port < 1 || port > 65535) {
            goto invalid;
        }

        sc->port = port;
    }

    sc->origin.data = base->data;
    sc->origin.len = p - base->data;

    /* the prefix, without a trailing slash: the uri brings one */

    while (last > p && last[-1] == '/') {
        last--;
    }

    sc->prefix.data = p;
    sc->prefix.len = last - p;

    for (p = base->data; p < base->data + base->len; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '?' || *p == '#'
            || *p == '"' || *p == '\\' || *p == '@' || *p == '%')
        {
            goto invalid;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid base \"%V\", must be "
                       "http[s]://host[:port][/path]", base);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_standby_init_retry_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_uint_t  created;

    shm_zone->data = ngx_http_live_shm_init(shm_zone, data,
                                            sizeof(ngx_http_standby_retry_sh_t),
                                            "standby_redirect_zone",
                                            &created);

    return shm_zone->data ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_standby_add_variables(ngx_conf_t *cf)
{
    return ngx_http_live_add_variables(cf, ngx_http_standby_vars);
}


/*
 * The redirect runs in the precontent phase: after every access check
 * (allow/deny, auth_request, "if" on $secure_link in the rewrite phase),
 * whichever "satisfy" says, so a refused request never reaches the
 * standby.
 */

static ngx_int_t
ngx_http_standby_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    if (ngx_http_live_lookup_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_standby_header_filter;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_standby_redirect_handler;

    return NGX_OK;
}
