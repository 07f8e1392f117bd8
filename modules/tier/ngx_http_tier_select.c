
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_live_common.h"
#include "ngx_http_live_zone.h"
#include "ngx_http_live_lookup.h"
#include "ngx_http_tier_parse.h"
#include "ngx_http_tier_select.h"


#define NGX_HTTP_TIER_SOURCE_NONE      0
#define NGX_HTTP_TIER_SOURCE_CACHE     1
#define NGX_HTTP_TIER_SOURCE_FETCHED   2
#define NGX_HTTP_TIER_SOURCE_STALE     3
#define NGX_HTTP_TIER_SOURCE_BACKUP    4

#define NGX_HTTP_TIER_VAR_PEER         0
#define NGX_HTTP_TIER_VAR_SOURCE       1
#define NGX_HTTP_TIER_VAR_KEY          2

#define NGX_HTTP_TIER_FAILS_SIZE       (256 * 1024)
#define NGX_HTTP_TIER_TTL_MAX          86400


struct ngx_http_tier_lookup_conf_s {
    ngx_http_upstream_srv_conf_t      *upstream;
    ngx_str_t                          upstream_name;
    ngx_str_t                          zone_name;
    ssize_t                            zone_size;
    ngx_shm_zone_t                    *shm_zone;
    ngx_http_live_lookup_zone_t       *zone;
    ngx_http_complex_value_t           key;
    ngx_http_complex_value_t           uri;
    ngx_uint_t                         n;          /* 0: all */
    u_char                            *file_name;
    ngx_uint_t                         line;
};


typedef struct {
    ngx_uint_t                         enabled;
    ngx_uint_t                         max_fails;
    ngx_msec_t                         fail_timeout;
    ngx_http_live_zone_t              *fails;      /* per address */
} ngx_http_tier_select_conf_t;


typedef struct {
    ngx_sockaddr_t                     sockaddr;
    socklen_t                          socklen;
    ngx_str_t                          name;
} ngx_http_tier_peer_t;


typedef struct {
    ngx_http_tier_lookup_conf_t       *lcf;
    ngx_http_live_lookup_t             lookup;
    ngx_str_t                          key;
    ngx_http_tier_peer_t              *peers;
    ngx_uint_t                         npeers;
    ngx_uint_t                         source;
    ngx_str_t                          peer;       /* the last one used */
    char                              *reason;     /* why no list */
    unsigned                           done:1;
    unsigned                           waited:1;
} ngx_http_tier_ctx_t;


typedef struct {
    ngx_http_tier_select_conf_t       *conf;
    ngx_http_upstream_srv_conf_t      *upstream;
    ngx_http_tier_ctx_t               *ctx;        /* NULL: no list */
    ngx_uint_t                         next;
    ngx_http_tier_peer_t              *current;    /* NULL: a backup */
    void                              *rrp;        /* the backups' */
} ngx_http_tier_peer_data_t;


/* an address that failed, in the zone every worker sees */

typedef struct {
    ngx_http_live_zone_node_t          zn;
    ngx_uint_t                         fails;
    ngx_msec_t                         accessed;   /* the last failure */
    ngx_msec_t                         checked;    /* the last try window */
} ngx_http_tier_fail_t;


static ngx_int_t ngx_http_tier_lookup_start(ngx_http_request_t *r,
    ngx_http_tier_lookup_conf_t *lcf, ngx_http_tier_ctx_t *ctx);
static ngx_int_t ngx_http_tier_lookup_parse(ngx_http_request_t *r,
    ngx_http_live_lookup_answer_t *a, void *data);
static ngx_int_t ngx_http_tier_lookup_peers(ngx_http_request_t *r,
    ngx_http_tier_ctx_t *ctx);

static ngx_int_t ngx_http_upstream_init_tier(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_upstream_init_tier_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_upstream_get_tier_peer(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_upstream_free_tier_peer(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
#if (NGX_HTTP_SSL)
static ngx_int_t ngx_http_upstream_tier_set_session(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_upstream_tier_save_session(ngx_peer_connection_t *pc,
    void *data);
#endif
static ngx_uint_t ngx_http_tier_select_failed(
    ngx_http_tier_select_conf_t *conf, ngx_http_tier_peer_t *peer);
static void ngx_http_tier_select_account(ngx_http_tier_select_conf_t *conf,
    ngx_peer_connection_t *pc, ngx_http_tier_peer_t *peer, ngx_uint_t state);
static ngx_uint_t ngx_http_tier_fail_inactive(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node);

static ngx_int_t ngx_http_tier_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tier_compile(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_complex_value_t *cv);
static ngx_int_t ngx_http_tier_lookup_zone(ngx_conf_t *cf,
    ngx_http_tier_lookup_conf_t *lcf, ngx_array_t *lookups,
    ngx_msec_t stale);


static ngx_http_variable_t  ngx_http_tier_vars[] = {

    { ngx_string("tier_peer"), NULL, ngx_http_tier_variable,
      NGX_HTTP_TIER_VAR_PEER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("tier_source"), NULL, ngx_http_tier_variable,
      NGX_HTTP_TIER_VAR_SOURCE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("tier_key"), NULL, ngx_http_tier_variable,
      NGX_HTTP_TIER_VAR_KEY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_tier_sources[] = {
    ngx_null_string,
    ngx_string("cache"),
    ngx_string("fetched"),
    ngx_string("stale"),
    ngx_string("backup")
};


/*
 * The access phase (or, where it did not run, the precontent phase):
 * the ordered list for the request's key, from the lookup cache (a
 * subrequest to the service only on a miss or a due refresh).  Not an
 * access check: it always declines, so "satisfy any" grants nothing
 * through it; the second phase finds the ctx done and declines.
 */

ngx_int_t
ngx_http_tier_lookup_access(ngx_http_request_t *r,
    ngx_http_tier_lookup_conf_t *lcf)
{
    ngx_int_t             rc;
    ngx_http_tier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_tier_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_tier_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_tier_module);

        ctx->lcf = lcf;

        rc = ngx_http_tier_lookup_start(r, lcf, ctx);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (ctx->done) {
        return NGX_DECLINED;
    }

    rc = ngx_http_live_lookup(r, lcf->shm_zone, &ctx->lookup);

    if (rc == NGX_AGAIN) {
        /* the lookup calls r->write_event_handler, which runs the phases */
        ctx->waited = 1;
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->done = 1;

    return ngx_http_tier_lookup_peers(r, ctx);
}


static ngx_int_t
ngx_http_tier_lookup_start(ngx_http_request_t *r,
    ngx_http_tier_lookup_conf_t *lcf, ngx_http_tier_ctx_t *ctx)
{
    u_char                  *p;
    size_t                   len;
    ngx_http_live_lookup_t  *lk;

    if (ngx_http_complex_value(r, &lcf->key, &ctx->key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_tier_valid_key(ctx->key.data, ctx->key.len) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "tier_lookup: invalid key \"%V\" for upstream \"%V\" "
                      "(1 to 256 bytes of printable ASCII without space, "
                      "quote or backslash), using its backup servers",
                      &ctx->key, &lcf->upstream_name);

        ctx->reason = "the key is invalid";
        ctx->done = 1;
        return NGX_DECLINED;
    }

    lk = &ctx->lookup;

    /* the cache key: the service's answer depends on the key and n */

    lk->key.data = ngx_pnalloc(r->pool, ctx->key.len + 1 + NGX_INT_T_LEN);
    if (lk->key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lk->key.len = ngx_sprintf(lk->key.data, "%V %ui", &ctx->key, lcf->n)
                  - lk->key.data;

    len = sizeof("key=&n=") - 1 + ctx->key.len + NGX_INT_T_LEN
          + 2 * ngx_escape_uri(NULL, ctx->key.data, ctx->key.len,
                               NGX_ESCAPE_ARGS);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lk->args.data = p;

    p = ngx_cpymem(p, "key=", sizeof("key=") - 1);
    p = (u_char *) ngx_escape_uri(p, ctx->key.data, ctx->key.len,
                                  NGX_ESCAPE_ARGS);

    /*
     * only the first NGX_HTTP_TIER_PEERS_MAX servers are used: asking
     * for no more keeps the answer of a large group within the default
     * subrequest_output_buffer_size
     */

    p = ngx_sprintf(p, "&n=%ui", lcf->n ? lcf->n : NGX_HTTP_TIER_PEERS_MAX);

    lk->args.len = p - lk->args.data;

    if (ngx_http_complex_value(r, &lcf->uri, &lk->uri) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lk->uri.len == 0 || lk->uri.data[0] != '/') {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "tier_lookup: uri \"%V\" is no location, using the "
                      "backup servers of upstream \"%V\"",
                      &lk->uri, &lcf->upstream_name);

        ctx->reason = "the uri is invalid";
        ctx->done = 1;
        return NGX_DECLINED;
    }
    lk->parse = ngx_http_tier_lookup_parse;
    lk->data = lcf;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "tier_lookup: \"%V?%V\"", &lk->uri, &lk->args);

    return NGX_OK;
}


/*
 * the answer of the service: the addresses, space-separated, and ttl;
 * an address that the answer repeats is kept once, so that a request
 * tries each address once, as round robin tries each server once
 */

static ngx_int_t
ngx_http_tier_lookup_parse(ngx_http_request_t *r,
    ngx_http_live_lookup_answer_t *a, void *data)
{
    u_char                  *p;
    size_t                   len;
    socklen_t                socklen[NGX_HTTP_TIER_PEERS_MAX];
    ngx_uint_t               i, k, n;
    ngx_sockaddr_t           sa[NGX_HTTP_TIER_PEERS_MAX];
    ngx_http_tier_answer_t   ans;

    if (a->status != NGX_HTTP_OK) {
        a->err = "not a 200 answer";
        return NGX_DECLINED;
    }

    if (ngx_http_tier_parse_answer(a->body.data, a->body.len, &ans)
        != NGX_OK)
    {
        a->err = ans.err;
        return NGX_DECLINED;
    }

    len = 0;

    for (i = 0; i < ans.naddrs; i++) {
        len += ans.addrs[i].len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        a->err = "no memory";
        return NGX_DECLINED;
    }

    a->value.data = p;
    n = 0;

    for (i = 0; i < ans.naddrs; i++) {

        /* the parser checked every address */

        socklen[n] = sizeof(ngx_sockaddr_t);

        (void) ngx_http_tier_parse_addr(ans.addrs[i].data, ans.addrs[i].len,
                                        &sa[n].sockaddr, &socklen[n]);

        for (k = 0; k < n; k++) {
            if (socklen[k] == socklen[n]
                && ngx_memcmp(&sa[k], &sa[n], socklen[n]) == 0)
            {
                break;
            }
        }

        if (k < n) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "tier_lookup: %V repeated, kept once",
                           &ans.addrs[i]);
            continue;
        }

        if (n++) {
            *p++ = ' ';
        }

        p = ngx_cpymem(p, ans.addrs[i].data, ans.addrs[i].len);
    }

    a->value.len = p - a->value.data;

    /* no ttl, or 0: the zone's refresh period */
    a->ttl = (time_t) ngx_min(ngx_max(ans.ttl, 0), NGX_HTTP_TIER_TTL_MAX);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tier_lookup_peers(ngx_http_request_t *r, ngx_http_tier_ctx_t *ctx)
{
    u_char                  *p, *last, *sp;
    ngx_uint_t               n;
    ngx_http_tier_peer_t    *peer;
    ngx_http_live_lookup_t  *lk;

    lk = &ctx->lookup;

    switch (lk->source) {

    case NGX_HTTP_LIVE_LOOKUP_FRESH:
        ctx->source = ctx->waited ? NGX_HTTP_TIER_SOURCE_FETCHED
                                  : NGX_HTTP_TIER_SOURCE_CACHE;
        break;

    case NGX_HTTP_LIVE_LOOKUP_STALE:
        ctx->source = NGX_HTTP_TIER_SOURCE_STALE;
        break;

    default: /* NGX_HTTP_LIVE_LOOKUP_NONE */
        ctx->reason = "no answer from the service";

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier_lookup: \"%V\" no answer", &ctx->key);

        return NGX_DECLINED;
    }

    /* the value was checked when it was cached: parse it again */

    last = lk->value.data + lk->value.len;
    n = 1;

    for (p = lk->value.data; p < last; p++) {
        if (*p == ' ') {
            n++;
        }
    }

    ctx->peers = ngx_palloc(r->pool, n * sizeof(ngx_http_tier_peer_t));
    if (ctx->peers == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (p = lk->value.data; p < last; p = sp + 1) {

        sp = ngx_strlchr(p, last, ' ');
        if (sp == NULL) {
            sp = last;
        }

        peer = &ctx->peers[ctx->npeers];
        peer->socklen = sizeof(ngx_sockaddr_t);

        if (ngx_http_tier_parse_addr(p, sp - p, &peer->sockaddr.sockaddr,
                                     &peer->socklen)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "tier_lookup: cached \"%*s\" is no address",
                          sp - p, p);
            continue;
        }

        peer->name.data = p;
        peer->name.len = sp - p;

        ctx->npeers++;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "tier_lookup: \"%V\" %ui peers, source %ui",
                   &ctx->key, ctx->npeers, ctx->source);

    return NGX_DECLINED;
}


/*
 * The balancer.  The backup servers become the primary servers of a
 * round robin of their own, so that they keep every stock semantics
 * (weight, max_fails, fail_timeout, max_conns, down); the list of the
 * answer is walked in order before them.
 */

static ngx_int_t
ngx_http_upstream_init_tier(ngx_conf_t *cf, ngx_http_upstream_srv_conf_t *us)
{
    ngx_uint_t                     i;
    ngx_http_upstream_server_t    *server, *s;
    ngx_http_upstream_rr_peers_t  *peers;
    ngx_http_upstream_srv_conf_t   backup;

    server = us->servers->elts;

    backup = *us;

    backup.servers = ngx_array_create(cf->pool, us->servers->nelts,
                                      sizeof(ngx_http_upstream_server_t));
    if (backup.servers == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < us->servers->nelts; i++) {

        if (!server[i].backup) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "server \"%V\" in the tier_select upstream \"%V\" "
                          "in %s:%ui must be \"backup\": the enumeration "
                          "answer gives the others",
                          &server[i].name, &us->host, us->file_name,
                          us->line);
            return NGX_ERROR;
        }

        s = ngx_array_push(backup.servers);
        if (s == NULL) {
            return NGX_ERROR;
        }

        *s = server[i];
        s->backup = 0;
    }

    if (ngx_http_upstream_init_round_robin(cf, &backup) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * the peers go where round robin keeps its own: the stock "zone"
     * directive copies them into shared memory from there
     */

    peers = backup.peer.data;
    peers->name = &us->host;

    us->peer.data = peers;
    us->peer.init = ngx_http_upstream_init_tier_peer;

    return NGX_OK;
}


static ngx_int_t
ngx_http_upstream_init_tier_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_http_tier_ctx_t          *ctx;
    ngx_http_tier_peer_data_t    *tp;
    ngx_http_tier_select_conf_t  *tcf;

    tcf = ngx_http_conf_upstream_srv_conf(us, ngx_http_tier_module);

    tp = ngx_pcalloc(r->pool, sizeof(ngx_http_tier_peer_data_t));
    if (tp == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_upstream_init_round_robin_peer(r, us) != NGX_OK) {
        return NGX_ERROR;
    }

    tp->rrp = r->upstream->peer.data;
    tp->conf = tcf;
    tp->upstream = us;

    ctx = ngx_http_get_module_ctx(r, ngx_http_tier_module);

    if (ctx && ctx->lcf && ctx->lcf->upstream == us) {
        tp->ctx = ctx;
        r->upstream->peer.tries += ctx->npeers;

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier_select: no tier_lookup for upstream \"%V\" "
                       "here", &us->host);
    }

    r->upstream->peer.data = tp;
    r->upstream->peer.get = ngx_http_upstream_get_tier_peer;
    r->upstream->peer.free = ngx_http_upstream_free_tier_peer;
#if (NGX_HTTP_SSL)
    r->upstream->peer.set_session = ngx_http_upstream_tier_set_session;
    r->upstream->peer.save_session = ngx_http_upstream_tier_save_session;
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_upstream_get_tier_peer(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_tier_peer_data_t  *tp = data;

    char                  *reason;
    ngx_int_t              rc;
    ngx_http_tier_ctx_t   *ctx;
    ngx_http_tier_peer_t  *peer;

    ctx = tp->ctx;
    tp->current = NULL;

    pc->cached = 0;
    pc->connection = NULL;

    if (ctx) {
        while (tp->next < ctx->npeers) {
            peer = &ctx->peers[tp->next++];

            if (ngx_http_tier_select_failed(tp->conf, peer)) {
                ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                               "tier_select: %V failed recently, skipped",
                               &peer->name);
                continue;
            }

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                           "tier_select: peer %ui of the list: %V",
                           tp->next, &peer->name);

            pc->sockaddr = &peer->sockaddr.sockaddr;
            pc->socklen = peer->socklen;
            pc->name = &peer->name;

            tp->current = peer;
            ctx->peer = peer->name;

            return NGX_OK;
        }
    }

    /* the list is exhausted, or there is none: the backup servers */

    rc = ngx_http_upstream_get_round_robin_peer(pc, tp->rrp);

    if (rc == NGX_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                       "tier_select: backup %V", pc->name);

        if (ctx) {
            ctx->source = NGX_HTTP_TIER_SOURCE_BACKUP;
            ctx->peer = *pc->name;
        }

        return NGX_OK;
    }

    if (ctx == NULL) {
        ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                      "tier_select: no server of upstream \"%V\": no "
                      "tier_lookup for it in this location, and no backup "
                      "server is up", &tp->upstream->host);
        return rc;
    }

    reason = ctx->reason ? ctx->reason : "every server of the list failed";

    ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                  "tier_select: no server of upstream \"%V\" for key "
                  "\"%V\": %s, and no backup server is up",
                  &tp->upstream->host, &ctx->key, reason);

    return rc;
}


static void
ngx_http_upstream_free_tier_peer(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_http_tier_peer_data_t  *tp = data;

    if (tp->current == NULL) {
        ngx_http_upstream_free_round_robin_peer(pc, tp->rrp, state);
        return;
    }

    ngx_http_tier_select_account(tp->conf, pc, tp->current, state);

    tp->current = NULL;

    if (pc->tries) {
        pc->tries--;
    }
}


#if (NGX_HTTP_SSL)

/* sessions are reused for the backup servers only, as round robin does */

static ngx_int_t
ngx_http_upstream_tier_set_session(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_tier_peer_data_t  *tp = data;

    if (tp->current) {
        return NGX_OK;
    }

    return ngx_http_upstream_set_round_robin_peer_session(pc, tp->rrp);
}


static void
ngx_http_upstream_tier_save_session(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_tier_peer_data_t  *tp = data;

    if (tp->current == NULL) {
        ngx_http_upstream_save_round_robin_peer_session(pc, tp->rrp);
    }
}

#endif


/*
 * max_fails and fail_timeout as round robin keeps them, but per address
 * in a zone that every worker sees: an address that failed max_fails
 * times is skipped for fail_timeout, then one request tries it again.
 */

static ngx_uint_t
ngx_http_tier_select_failed(ngx_http_tier_select_conf_t *conf,
    ngx_http_tier_peer_t *peer)
{
    ngx_uint_t             skip;
    ngx_msec_t             now;
    ngx_http_live_zone_t  *zone;
    ngx_http_tier_fail_t  *f;

    zone = conf->fails;

    /* nothing failed lately is the common case: no lock */

    if (conf->max_fails == 0 || ngx_queue_empty(&zone->sh->queue)) {
        return 0;
    }

    now = ngx_current_msec;
    skip = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    f = (ngx_http_tier_fail_t *)
            ngx_http_live_zone_find(zone, &peer->name,
                                    ngx_crc32_short(peer->name.data,
                                                    peer->name.len));

    if (f) {
        if (f->fails >= conf->max_fails
            && now - f->checked <= conf->fail_timeout)
        {
            skip = 1;

        } else if (now - f->checked > conf->fail_timeout) {
            f->checked = now;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return skip;
}


static void
ngx_http_tier_select_account(ngx_http_tier_select_conf_t *conf,
    ngx_peer_connection_t *pc, ngx_http_tier_peer_t *peer, ngx_uint_t state)
{
    uint32_t               hash;
    ngx_uint_t             disabled;
    ngx_msec_t             now;
    ngx_http_live_zone_t  *zone;
    ngx_http_tier_fail_t  *f;

    zone = conf->fails;

    if (conf->max_fails == 0
        || (!(state & NGX_PEER_FAILED) && ngx_queue_empty(&zone->sh->queue)))
    {
        return;
    }

    now = ngx_current_msec;
    hash = ngx_crc32_short(peer->name.data, peer->name.len);
    disabled = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    f = (ngx_http_tier_fail_t *)
            ngx_http_live_zone_find(zone, &peer->name, hash);

    if (state & NGX_PEER_FAILED) {

        if (f == NULL) {
            ngx_http_live_zone_expire(zone, 2);

            f = (ngx_http_tier_fail_t *)
                    ngx_http_live_zone_insert(zone, &peer->name, hash);
        }

        if (f) {
            f->fails++;
            f->accessed = now;
            f->checked = now;
            ngx_http_live_zone_touch(zone, &f->zn);

            disabled = (f->fails == conf->max_fails);
        }

    } else if (f && f->accessed < f->checked) {
        f->fails = 0;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (disabled) {
        ngx_log_error(NGX_LOG_WARN, pc->log, 0,
                      "tier_select: upstream server %V temporarily disabled "
                      "for every worker", &peer->name);
    }
}


static ngx_uint_t
ngx_http_tier_fail_inactive(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node)
{
    ngx_http_tier_select_conf_t  *conf = zone->data;
    ngx_http_tier_fail_t         *f = (ngx_http_tier_fail_t *) node;

    return ngx_current_msec - f->accessed > conf->fail_timeout;
}


static ngx_int_t
ngx_http_tier_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t            *s;
    ngx_http_tier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_tier_module);

    if (ctx == NULL || ctx->lcf == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_TIER_VAR_PEER:
        s = &ctx->peer;
        break;

    case NGX_HTTP_TIER_VAR_SOURCE:
        s = &ngx_http_tier_sources[ctx->source];
        break;

    default: /* NGX_HTTP_TIER_VAR_KEY */
        s = &ctx->key;
        break;
    }

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


void *
ngx_http_tier_select_create_conf(ngx_conf_t *cf)
{
    ngx_http_tier_select_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tier_select_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->enabled = 0;
     *     conf->fails = NULL;
     */

    return conf;
}


/* tier_select [max_fails=number] [fail_timeout=time] */

char *
ngx_http_tier_select(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tier_select_conf_t  *tcf = conf;

    ngx_int_t                      n;
    ngx_str_t                     *value, s, name;
    ngx_uint_t                     i;
    ngx_http_upstream_srv_conf_t  *uscf;

    if (tcf->enabled) {
        return "is duplicate";
    }

    uscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_upstream_module);

    if (uscf->peer.init_upstream) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "load balancing method redefined");
    }

    tcf->enabled = 1;
    tcf->max_fails = 1;
    tcf->fail_timeout = 10000;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_fails=", 10) == 0) {

            n = ngx_atoi(&value[i].data[10], value[i].len - 10);

            if (n == NGX_ERROR) {
                goto invalid;
            }

            tcf->max_fails = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "fail_timeout=", 13) == 0) {

            s.data = &value[i].data[13];
            s.len = value[i].len - 13;

            n = ngx_parse_time(&s, 0);

            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            tcf->fail_timeout = (ngx_msec_t) n;
            continue;
        }

        goto invalid;
    }

    /* the failures of the list's addresses, for every worker */

    name.len = sizeof("tier_select_") - 1 + uscf->host.len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(name.data, "tier_select_%V", &uscf->host);

    tcf->fails = ngx_http_live_zone_add(cf, &name, NGX_HTTP_TIER_FAILS_SIZE,
                                        &ngx_http_tier_module,
                                        "tier_select");
    if (tcf->fails == NULL) {
        return NGX_CONF_ERROR;
    }

    tcf->fails->node_size = sizeof(ngx_http_tier_fail_t);
    tcf->fails->inactive = ngx_http_tier_fail_inactive;
    tcf->fails->data = tcf;

    uscf->peer.init_upstream = ngx_http_upstream_init_tier;

    uscf->flags = NGX_HTTP_UPSTREAM_CREATE
                  |NGX_HTTP_UPSTREAM_WEIGHT
                  |NGX_HTTP_UPSTREAM_MAX_CONNS
                  |NGX_HTTP_UPSTREAM_MAX_FAILS
                  |NGX_HTTP_UPSTREAM_FAIL_TIMEOUT
                  |NGX_HTTP_UPSTREAM_DOWN
                  |NGX_HTTP_UPSTREAM_BACKUP;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * tier_lookup upstream zone=name:size key=value uri=location [n=number]
 *             [stale=time]
 */

char *
ngx_http_tier_lookup_conf(ngx_conf_t *cf, ngx_http_tier_lookup_conf_t **lcfp,
    ngx_array_t *lookups)
{
    char                          *rv;
    ngx_int_t                      n;
    ngx_str_t                     *value, s, key, uri;
    ngx_url_t                      u;
    ngx_msec_t                     stale;
    ngx_uint_t                     i;
    ngx_http_tier_lookup_conf_t   *lcf, **lp;

    value = cf->args->elts;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tier_lookup_conf_t));
    if (lcf == NULL) {
        return NGX_CONF_ERROR;
    }

    lcf->file_name = cf->conf_file->file.name.data;
    lcf->line = cf->conf_file->line;
    lcf->upstream_name = value[1];

    ngx_str_null(&key);
    ngx_str_null(&uri);
    stale = 600000;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            rv = ngx_http_live_zone_parse(cf, &s, &lcf->zone_name,
                                          &lcf->zone_size);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "key=", 4) == 0) {
            key.data = value[i].data + 4;
            key.len = value[i].len - 4;
            continue;
        }

        if (ngx_strncmp(value[i].data, "uri=", 4) == 0) {
            uri.data = value[i].data + 4;
            uri.len = value[i].len - 4;

            if (uri.len == 0 || (uri.data[0] != '/' && uri.data[0] != '$')) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid uri \"%V\", a location is "
                                   "expected", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "n=", 2) == 0) {
            n = ngx_atoi(value[i].data + 2, value[i].len - 2);

            if (n < 1 || n > NGX_HTTP_TIER_PEERS_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\", use 1 to %d",
                                   &value[i], NGX_HTTP_TIER_PEERS_MAX);
                return NGX_CONF_ERROR;
            }

            lcf->n = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "stale=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            stale = ngx_parse_time(&s, 0);

            if (stale == (ngx_msec_t) NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (lcf->zone_name.len == 0 || key.len == 0 || uri.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tier_lookup\" needs zone=, key= and uri=");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_tier_compile(cf, &key, &lcf->key) != NGX_OK
        || ngx_http_tier_compile(cf, &uri, &lcf->uri) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.no_resolve = 1;

    lcf->upstream = ngx_http_upstream_add(cf, &u, 0);
    if (lcf->upstream == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_tier_lookup_zone(cf, lcf, lookups, stale) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    lp = ngx_array_push(lookups);
    if (lp == NULL) {
        return NGX_CONF_ERROR;
    }

    *lp = lcf;
    *lcfp = lcf;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_tier_compile(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_complex_value_t *cv)
{
    ngx_http_compile_complex_value_t  ccv;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = value;
    ccv.complex_value = cv;

    return ngx_http_compile_complex_value(&ccv);
}


/* lookups that name the same zone share it */

static ngx_int_t
ngx_http_tier_lookup_zone(ngx_conf_t *cf, ngx_http_tier_lookup_conf_t *lcf,
    ngx_array_t *lookups, ngx_msec_t stale)
{
    ngx_uint_t                     i;
    ngx_http_tier_lookup_conf_t  **lp;

    lp = lookups->elts;

    for (i = 0; i < lookups->nelts; i++) {
        if (lp[i]->zone_name.len == lcf->zone_name.len
            && ngx_strncmp(lp[i]->zone_name.data, lcf->zone_name.data,
                           lcf->zone_name.len)
               == 0)
        {
            if (lp[i]->zone_size != lcf->zone_size) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "zone \"%V\" is already declared with "
                                   "another size", &lcf->zone_name);
                return NGX_ERROR;
            }

            lcf->zone = lp[i]->zone;
            break;
        }
    }

    if (lcf->zone == NULL) {
        lcf->zone = ngx_http_live_lookup_zone_add(cf, &lcf->zone_name,
                                                  lcf->zone_size,
                                                  &ngx_http_tier_module);
        if (lcf->zone == NULL) {
            return NGX_ERROR;
        }
    }

    lcf->zone->stale = stale;
    lcf->zone->inactive = ngx_max(lcf->zone->inactive, stale);
    lcf->shm_zone = lcf->zone->lru->shm_zone;

    return NGX_OK;
}


/* from the module's postconfiguration */

ngx_int_t
ngx_http_tier_select_init(ngx_conf_t *cf, ngx_array_t *lookups)
{
    ngx_uint_t                     i;
    ngx_http_tier_lookup_conf_t  **lp;
    ngx_http_tier_select_conf_t   *tcf;

    lp = lookups->elts;

    for (i = 0; i < lookups->nelts; i++) {

        tcf = lp[i]->upstream->srv_conf
              ? ngx_http_conf_upstream_srv_conf(lp[i]->upstream,
                                                ngx_http_tier_module)
              : NULL;

        if (tcf == NULL || !tcf->enabled) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "tier_lookup: upstream \"%V\" in %s:%ui is no "
                          "upstream block with \"tier_select\"",
                          &lp[i]->upstream_name, lp[i]->file_name,
                          lp[i]->line);
            return NGX_ERROR;
        }
    }

    if (ngx_http_live_lookup_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_live_add_variables(cf, ngx_http_tier_vars);
}
