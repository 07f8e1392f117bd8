
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_live_lookup.h"


#define NGX_HTTP_LIVE_LOOKUP_NEW     0
#define NGX_HTTP_LIVE_LOOKUP_FETCH   1
#define NGX_HTTP_LIVE_LOOKUP_WAIT    2
#define NGX_HTTP_LIVE_LOOKUP_DONE    3

/* the longest pause of a waiter between two looks at the zone */
#define NGX_HTTP_LIVE_LOOKUP_MAX_POLL  200


typedef struct {
    ngx_http_live_zone_node_t       zn;
    u_char                          updating;
    u_char                          failed;
    u_char                          backoff;
    u_char                          logged;
    ngx_msec_t                      last;
    ngx_msec_t                      fetched;
    ngx_msec_t                      lock_expire;
    ngx_msec_t                      retry;
    ngx_msec_t                      log_time;
    ngx_pid_t                       owner;
    time_t                          ttl;
    size_t                          value_len;
    u_char                         *value;
} ngx_http_live_lookup_node_t;


/*
 * One subrequest to the service, in the pool of the request that started
 * it.  It is always a background subrequest, even when that request waits
 * for it: a waited one ends with 499 as soon as its client goes, and so
 * would fail every request, in every worker, that waits on the key.  A
 * background one runs to its end whether or not the client is still
 * there; the request that started it waits like any other waiter.
 */

typedef struct {
    ngx_http_live_lookup_zone_t    *zone;
    ngx_http_live_lookup_t         *lk;      /* NULL: background refresh */
    ngx_str_t                       key;
    uint32_t                        hash;
    ngx_http_live_lookup_parse_pt   parse;
    void                           *data;
    ngx_msec_t                      lock_expire;
    ngx_msec_t                      started;
    ngx_uint_t                      done;
    ngx_uint_t                      ok;
    ngx_uint_t                      cancelled;
    ngx_uint_t                      too_big;
    ngx_str_t                       value;
    time_t                          ttl;
} ngx_http_live_lookup_fetch_t;


static ngx_uint_t ngx_http_live_lookup_claimed(
    ngx_http_live_lookup_node_t *node, ngx_msec_t now);
static ngx_msec_t ngx_http_live_lookup_claim(
    ngx_http_live_lookup_zone_t *zone, ngx_http_live_lookup_node_t *node,
    ngx_msec_t now);
static ngx_int_t ngx_http_live_lookup_check(ngx_http_request_t *r,
    ngx_http_live_lookup_t *lk, ngx_msec_t *lock_expire);
static ngx_int_t ngx_http_live_lookup_copy(ngx_http_request_t *r,
    ngx_http_live_lookup_t *lk, ngx_http_live_lookup_node_t *node);
static ngx_msec_t ngx_http_live_lookup_period(ngx_http_live_lookup_zone_t *z,
    time_t ttl);
static ngx_int_t ngx_http_live_lookup_fetch(ngx_http_request_t *r,
    ngx_http_live_lookup_t *lk, ngx_uint_t background,
    ngx_msec_t lock_expire);
static ngx_int_t ngx_http_live_lookup_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_live_lookup_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_live_lookup_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static void ngx_http_live_lookup_store(ngx_http_request_t *r,
    ngx_http_live_lookup_fetch_t *f, ngx_http_live_lookup_answer_t *a,
    ngx_uint_t status);
static void ngx_http_live_lookup_release(ngx_http_live_lookup_zone_t *zone,
    ngx_str_t *key, uint32_t hash, ngx_msec_t lock_expire);
static void ngx_http_live_lookup_fetch_cleanup(void *data);
static void ngx_http_live_lookup_notify(ngx_http_live_lookup_zone_t *zone,
    ngx_str_t *key, uint32_t hash);
static ngx_int_t ngx_http_live_lookup_wait(ngx_http_request_t *r,
    ngx_http_live_lookup_t *lk);
static ngx_int_t ngx_http_live_lookup_wake_init(ngx_http_request_t *r,
    ngx_http_live_lookup_t *lk);
static void ngx_http_live_lookup_unwait(ngx_http_live_lookup_t *lk);
static void ngx_http_live_lookup_wake(ngx_event_t *ev);
static void ngx_http_live_lookup_wait_cleanup(void *data);
static ngx_uint_t ngx_http_live_lookup_inactive(ngx_http_live_zone_t *lru,
    ngx_http_live_zone_node_t *zn);
static void ngx_http_live_lookup_free(ngx_http_live_zone_t *lru,
    ngx_http_live_zone_node_t *zn);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_live_lookup(ngx_http_request_t *r, ngx_shm_zone_t *shm_zone,
    ngx_http_live_lookup_t *lk)
{
    ngx_int_t                      rc;
    ngx_msec_t                     lock_expire;
    ngx_http_live_lookup_fetch_t  *f;

    switch (lk->state) {

    case NGX_HTTP_LIVE_LOOKUP_DONE:
        return NGX_OK;

    case NGX_HTTP_LIVE_LOOKUP_FETCH:
        f = lk->fetch;

        if (!f->done) {
            return NGX_AGAIN;
        }

        if (f->cancelled) {
            /* not an answer: look at the zone again, as a waiter does */
            ngx_http_live_lookup_unwait(lk);
            break;
        }

        lk->state = NGX_HTTP_LIVE_LOOKUP_DONE;

        if (f->ok) {
            lk->value = f->value;
            lk->ttl = f->ttl;
            lk->source = NGX_HTTP_LIVE_LOOKUP_FRESH;

        } else {
            lk->source = NGX_HTTP_LIVE_LOOKUP_NONE;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "live lookup: \"%V\" fetched, source:%ui",
                       &lk->key, lk->source);

        return NGX_OK;

    case NGX_HTTP_LIVE_LOOKUP_WAIT:
        ngx_http_live_lookup_unwait(lk);
        break;

    default: /* NGX_HTTP_LIVE_LOOKUP_NEW */
        lk->request = r;
        lk->zone = ((ngx_http_live_zone_t *) shm_zone->data)->data;
        lk->hash = ngx_crc32_short(lk->key.data, lk->key.len);
        lk->started = ngx_current_msec;

        if (lk->key.len == 0 || lk->key.len > 65535) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "live lookup: invalid key length %uz",
                          lk->key.len);
            return NGX_ERROR;
        }
    }

    rc = ngx_http_live_lookup_check(r, lk, &lock_expire);

    switch (rc) {

    case NGX_OK:
        lk->state = NGX_HTTP_LIVE_LOOKUP_DONE;
        return NGX_OK;

    case NGX_DONE:
        /* answered from the cache, and we claimed the refresh */
        lk->state = NGX_HTTP_LIVE_LOOKUP_DONE;

        if (ngx_http_live_lookup_fetch(r, lk, 1, lock_expire) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "live lookup: \"%V\" could not start refresh",
                          &lk->key);
            return NGX_OK;
        }

        /*
         * nginx takes the next request of a keep-alive connection only
         * once every subrequest of this one has ended: the client would
         * wait for the refresh, up to the service's timeouts, so it is
         * told to come back on a new connection instead
         */

        r->main->keepalive = 0;

        return NGX_OK;

    case NGX_DECLINED:
        lk->state = NGX_HTTP_LIVE_LOOKUP_DONE;
        lk->source = NGX_HTTP_LIVE_LOOKUP_NONE;
        return NGX_OK;

    case NGX_BUSY:
        /* a miss, and we are the one to fetch it */
        if (ngx_http_live_lookup_fetch(r, lk, 0, lock_expire) != NGX_OK) {
            return NGX_ERROR;
        }

        lk->state = NGX_HTTP_LIVE_LOOKUP_FETCH;
        return NGX_AGAIN;

    case NGX_AGAIN:
        if (ngx_http_live_lookup_wait(r, lk) != NGX_OK) {
            return NGX_ERROR;
        }

        lk->state = NGX_HTTP_LIVE_LOOKUP_WAIT;
        return NGX_AGAIN;

    default:
        return NGX_ERROR;
    }
}


/*
 * A claim holds until its fetch ends, at most zone->lock (longer than the
 * stock proxy timeouts, so one fetch per key is in flight however slow
 * the service); a worker that died mid-fetch gives its claim up at once.
 * Called under the zone lock.
 */

static ngx_uint_t
ngx_http_live_lookup_claimed(ngx_http_live_lookup_node_t *node,
    ngx_msec_t now)
{
    if (!node->updating || (ngx_msec_int_t) (now - node->lock_expire) >= 0) {
        return 0;
    }

    if (node->owner != ngx_pid
        && kill(node->owner, 0) == -1
        && ngx_errno == NGX_ESRCH)
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "live lookup: worker %P died during a fetch, "
                      "fetching again", node->owner);
        return 0;
    }

    return 1;
}


/* takes the claim for this worker; called under the zone lock */

static ngx_msec_t
ngx_http_live_lookup_claim(ngx_http_live_lookup_zone_t *zone,
    ngx_http_live_lookup_node_t *node, ngx_msec_t now)
{
    node->updating = 1;
    node->owner = ngx_pid;
    node->lock_expire = now + zone->lock;

    return node->lock_expire;
}


/*
 * Decides under the zone lock: NGX_OK (answered), NGX_DONE (answered,
 * start a background refresh), NGX_DECLINED (no answer, a fetch failed
 * lately), NGX_BUSY (fetch it now), NGX_AGAIN (another fetch is under
 * way), NGX_ERROR.
 */

static ngx_int_t
ngx_http_live_lookup_check(ngx_http_request_t *r, ngx_http_live_lookup_t *lk,
    ngx_msec_t *lock_expire)
{
    ngx_int_t                     rc;
    ngx_msec_t                    now, period;
    ngx_msec_int_t                age;
    ngx_slab_pool_t              *shpool;
    ngx_http_live_lookup_node_t  *node;
    ngx_http_live_lookup_zone_t  *zone;

    zone = lk->zone;
    shpool = zone->lru->shpool;
    now = ngx_current_msec;

    ngx_shmtx_lock(&shpool->mutex);

    /* as limit_req: up to two entries unused for "inactive" go */
    ngx_http_live_zone_expire(zone->lru, 2);

    node = (ngx_http_live_lookup_node_t *)
               ngx_http_live_zone_find(zone->lru, &lk->key, lk->hash);

    if (node == NULL) {
        node = (ngx_http_live_lookup_node_t *)
                   ngx_http_live_zone_insert(zone->lru, &lk->key, lk->hash);

        if (node == NULL) {
            ngx_shmtx_unlock(&shpool->mutex);

            /* still fetch; concurrent misses will not share it */
            *lock_expire = now + zone->lock;
            return NGX_BUSY;
        }

        /* a new node has no answer and no claim: the miss path below */
    }

    node->last = now;
    ngx_http_live_zone_touch(zone->lru, &node->zn);

    rc = NGX_BUSY;

    if (node->value) {
        age = (ngx_msec_int_t) (now - node->fetched);
        period = ngx_http_live_lookup_period(zone, node->ttl);

        if (age < (ngx_msec_int_t) (period + zone->stale)) {

            if (ngx_http_live_lookup_copy(r, lk, node) != NGX_OK) {
                ngx_shmtx_unlock(&shpool->mutex);
                return NGX_ERROR;
            }

            rc = NGX_OK;

            if (age >= (ngx_msec_int_t) period
                && !ngx_http_live_lookup_claimed(node, now)
                && (!node->backoff
                    || (ngx_msec_int_t) (now - node->retry) >= 0))
            {
                *lock_expire = ngx_http_live_lookup_claim(zone, node, now);
                rc = NGX_DONE;
            }

            ngx_shmtx_unlock(&shpool->mutex);

            ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "live lookup: \"%V\" hit, age:%M source:%ui%s",
                           &lk->key, (ngx_msec_t) age, lk->source,
                           rc == NGX_DONE ? " refresh" : "");
            return rc;
        }
    }

    /* no usable answer */

    if (ngx_http_live_lookup_claimed(node, now)) {
        ngx_shmtx_unlock(&shpool->mutex);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "live lookup: \"%V\" miss, waiting", &lk->key);
        return NGX_AGAIN;
    }

    if (node->backoff && (ngx_msec_int_t) (now - node->retry) < 0) {
        ngx_shmtx_unlock(&shpool->mutex);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "live lookup: \"%V\" miss, failed lately", &lk->key);
        return NGX_DECLINED;
    }

    *lock_expire = ngx_http_live_lookup_claim(zone, node, now);

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "live lookup: \"%V\" miss, fetching", &lk->key);

    return NGX_BUSY;
}


static ngx_int_t
ngx_http_live_lookup_copy(ngx_http_request_t *r, ngx_http_live_lookup_t *lk,
    ngx_http_live_lookup_node_t *node)
{
    time_t  age;

    lk->value.data = ngx_pnalloc(r->pool, node->value_len);
    if (lk->value.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(lk->value.data, node->value, node->value_len);
    lk->value.len = node->value_len;

    age = (time_t) ((ngx_current_msec - node->fetched) / 1000);
    lk->ttl = node->ttl > age ? node->ttl - age : 0;

    lk->source = node->failed ? NGX_HTTP_LIVE_LOOKUP_STALE
                              : NGX_HTTP_LIVE_LOOKUP_FRESH;

    return NGX_OK;
}


/* an answer is refreshed at the zone's period, or sooner at its TTL */

static ngx_msec_t
ngx_http_live_lookup_period(ngx_http_live_lookup_zone_t *zone, time_t ttl)
{
    ngx_msec_t  period;

    period = zone->refresh;

    if (ttl > 0 && (ngx_msec_t) ttl * 1000 < period) {
        period = (ngx_msec_t) ttl * 1000;
    }

    /* a zero TTL must not turn every request into a query */
    return ngx_max(period, 1000);
}


static ngx_int_t
ngx_http_live_lookup_fetch(ngx_http_request_t *r, ngx_http_live_lookup_t *lk,
    ngx_uint_t background, ngx_msec_t lock_expire)
{
    ngx_uint_t                     flags;
    ngx_http_cleanup_t            *cln;
    ngx_http_request_t            *sr;
    ngx_http_request_body_t       *rb;
    ngx_http_post_subrequest_t    *ps;
    ngx_http_live_lookup_fetch_t  *f;

    f = ngx_pcalloc(r->pool, sizeof(ngx_http_live_lookup_fetch_t));
    if (f == NULL) {
        goto failed;
    }

    /* the request that started a waited fetch is woken by its end */

    if (!background && ngx_http_live_lookup_wake_init(r, lk) != NGX_OK) {
        goto failed;
    }

    f->zone = lk->zone;
    f->lk = background ? NULL : lk;
    f->key = lk->key;
    f->hash = lk->hash;
    f->parse = lk->parse;
    f->data = lk->data;
    f->lock_expire = lock_expire;
    f->started = ngx_current_msec;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        goto failed;
    }

    ps->handler = ngx_http_live_lookup_done;
    ps->data = f;

    /*
     * if the request dies before the subrequest ends (client gone,
     * worker exit), the claim is released so that others can fetch
     */

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        goto failed;
    }

    cln->handler = ngx_http_live_lookup_fetch_cleanup;
    cln->data = f;

    flags = NGX_HTTP_SUBREQUEST_IN_MEMORY|NGX_HTTP_SUBREQUEST_BACKGROUND;

    if (ngx_http_subrequest(r, &lk->uri, &lk->args, &sr, ps, flags)
        != NGX_OK)
    {
        f->done = 1;
        goto failed;
    }

    /*
     * the answer is kept for every request of the key: the service gets
     * no request body and no header of this client (a Range would cut
     * the answer for all; a Cookie is not its business), only what the
     * internal location sets
     */

    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        return NGX_ERROR;
    }

    sr->request_body = rb;

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, r->pool, 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.server = r->headers_in.server;
    sr->headers_in.content_length_n = -1;
    sr->headers_in.keep_alive_n = -1;

    lk->fetch = f;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "live lookup: \"%V\" %s fetch \"%V?%V\"", &lk->key,
                   background ? "background" : "waited", &lk->uri, &lk->args);

    return NGX_OK;

failed:

    if (f) {
        f->done = 1;
    }

    ngx_http_live_lookup_release(lk->zone, &lk->key, lk->hash, lock_expire);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_live_lookup_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_live_lookup_fetch_t *f = data;

    ngx_uint_t                     status;
    ngx_http_live_lookup_answer_t  a;

    if (f->done) {
        return rc;
    }

    f->done = 1;

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || (r->connection->error && rc != NGX_OK && rc != NGX_DONE))
    {
        /*
         * cut short by the client's side, not answered by the service:
         * no failure, no back-off; a request that waits fetches again
         */

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "live lookup: \"%V\" fetch cancelled", &f->key);

        f->cancelled = 1;

        ngx_http_live_lookup_release(f->zone, &f->key, f->hash,
                                     f->lock_expire);

        if (f->lk && !f->lk->wake.posted) {
            ngx_post_event(&f->lk->wake, &ngx_posted_events);
        }

        return rc;
    }

    status = r->headers_out.status;

    ngx_memzero(&a, sizeof(ngx_http_live_lookup_answer_t));
    a.status = status;

    if (f->too_big) {
        a.err = "answer bigger than subrequest_output_buffer_size";

    } else if (rc != NGX_OK && rc != NGX_DONE) {
        a.err = "no answer";

    } else if (status < 200 || status > 299) {
        a.err = "service answered non-2xx";

    } else {
        if (r->out && r->out->buf) {
            a.body.data = r->out->buf->pos;
            a.body.len = r->out->buf->last - r->out->buf->pos;
        }

        if (f->parse(r, &a, f->data) == NGX_OK) {
            f->ok = 1;
            f->value = a.value;
            f->ttl = a.ttl;

        } else if (a.err == NULL) {
            a.err = "invalid answer";
        }
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "live lookup: \"%V\" fetch done, rc:%i status:%ui "
                   "ok:%ui in %Mms", &f->key, rc, status, f->ok,
                   ngx_current_msec - f->started);

    ngx_http_live_lookup_store(r, f, &a, rc == NGX_OK ? status : 0);

    ngx_http_live_lookup_notify(f->zone, &f->key, f->hash);

    if (f->lk && !f->lk->wake.posted) {
        ngx_post_event(&f->lk->wake, &ngx_posted_events);
    }

    /*
     * a failed fetch must not fail the request that started it: a
     * subrequest that ends with a special response or an error would
     * otherwise get an error page or terminate the client's request;
     * an error of the client connection itself stays an error
     */

    if (r->connection->error) {
        return rc;
    }

    return NGX_OK;
}


/*
 * An answer whose Content-Length is over subrequest_output_buffer_size
 * is failed before its body is read: with header_only the upstream
 * module finalizes the subrequest right after the header.
 */

static ngx_int_t
ngx_http_live_lookup_header_filter(ngx_http_request_t *r)
{
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_live_lookup_fetch_t  *f;

    if (r == r->main
        || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_live_lookup_done)
    {
        return ngx_http_next_header_filter(r);
    }

    f = r->post_subrequest->data;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (r->headers_out.content_length_n
        > (off_t) clcf->subrequest_output_buffer_size)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "live lookup: \"%V\" answer too big: "
                       "content length %O", &f->key,
                       r->headers_out.content_length_n);

        f->too_big = 1;
        r->header_only = 1;
    }

    return ngx_http_next_header_filter(r);
}


/*
 * An answer larger than subrequest_output_buffer_size makes the
 * postpone filter fail, and ngx_http_output_filter() then marks the
 * client connection with an error although nothing was written to it.
 * This filter is above the postpone filter: it lets our fetches pass
 * only while they fit the buffer the postpone filter has or will
 * allocate, and drops the rest of a bigger answer.
 */

static ngx_int_t
ngx_http_live_lookup_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    off_t                          size, room;
    ngx_chain_t                   *cl;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_live_lookup_fetch_t  *f;

    if (r == r->main
        || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_live_lookup_done)
    {
        return ngx_http_next_body_filter(r, in);
    }

    f = r->post_subrequest->data;

    if (!f->too_big) {

        if (r->out) {
            room = r->out->buf->end - r->out->buf->last;

        } else {
            clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

            room = clcf->subrequest_output_buffer_size;

            if (r->headers_out.content_length_n > room) {
                room = -1;

            } else if (r->headers_out.content_length_n != -1) {
                room = r->headers_out.content_length_n;
            }
        }

        size = 0;

        for (cl = in; cl; cl = cl->next) {
            if (!ngx_buf_special(cl->buf)) {
                size += ngx_buf_size(cl->buf);
            }
        }

        if (size > room) {
            ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "live lookup: \"%V\" answer too big: "
                           "%O bytes for %O", &f->key, size, room);
            f->too_big = 1;
        }
    }

    if (!f->too_big) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    return NGX_OK;
}


static void
ngx_http_live_lookup_store(ngx_http_request_t *r,
    ngx_http_live_lookup_fetch_t *f, ngx_http_live_lookup_answer_t *a,
    ngx_uint_t status)
{
    u_char                       *value;
    ngx_msec_t                    now;
    ngx_uint_t                    log;
    ngx_slab_pool_t              *shpool;
    ngx_http_live_lookup_node_t  *node;
    ngx_http_live_lookup_zone_t  *zone;

    zone = f->zone;
    shpool = zone->lru->shpool;
    now = ngx_current_msec;
    log = 0;

    ngx_shmtx_lock(&shpool->mutex);

    /* first, as the eviction in alloc() may take any node */

    value = f->ok ? ngx_http_live_zone_alloc(zone->lru, f->value.len + 1)
                  : NULL;

    node = (ngx_http_live_lookup_node_t *)
               ngx_http_live_zone_find(zone->lru, &f->key, f->hash);

    if (f->ok) {
        if (node == NULL && value) {
            node = (ngx_http_live_lookup_node_t *)
                       ngx_http_live_zone_insert(zone->lru, &f->key,
                                                 f->hash);
        }

        if (node == NULL || value == NULL) {
            if (value) {
                ngx_slab_free_locked(shpool, value);
            }

            if (node && node->owner == ngx_pid
                && node->lock_expire == f->lock_expire)
            {
                node->updating = 0;
            }

            ngx_shmtx_unlock(&shpool->mutex);

            /* the zone said why, once a minute at most */

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "live lookup: \"%V\" could not store the "
                           "answer", &f->key);
            return;
        }

        if (node->value) {
            ngx_slab_free_locked(shpool, node->value);
        }

        ngx_memcpy(value, f->value.data, f->value.len);
        node->value = value;
        node->value_len = f->value.len;
        node->fetched = now;
        node->ttl = f->ttl;
        node->failed = 0;
        node->backoff = 0;
        node->logged = 0;

    } else if (node) {
        node->failed = node->value ? 1 : 0;
        node->backoff = 1;
        node->retry = now + zone->retry;

        if (!node->logged
            || (ngx_msec_int_t) (now - node->log_time)
               >= (ngx_msec_int_t) zone->refresh)
        {
            node->logged = 1;
            node->log_time = now;
            log = 1;
        }

    } else {
        log = 1;
    }

    if (node
        && node->updating
        && node->owner == ngx_pid
        && node->lock_expire == f->lock_expire)
    {
        node->updating = 0;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (log) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "live lookup: \"%V\" failed: %s (status %ui) "
                      "from \"%V?%V\"", &f->key, a->err, status,
                      &r->uri, &r->args);
    }
}


/* gives a claim back when its fetch could not even start or finish */

static void
ngx_http_live_lookup_release(ngx_http_live_lookup_zone_t *zone,
    ngx_str_t *key, uint32_t hash, ngx_msec_t lock_expire)
{
    ngx_http_live_lookup_node_t  *node;

    ngx_shmtx_lock(&zone->lru->shpool->mutex);

    node = (ngx_http_live_lookup_node_t *)
               ngx_http_live_zone_find(zone->lru, key, hash);

    if (node
        && node->updating
        && node->owner == ngx_pid
        && node->lock_expire == lock_expire)
    {
        node->updating = 0;
    }

    ngx_shmtx_unlock(&zone->lru->shpool->mutex);

    ngx_http_live_lookup_notify(zone, key, hash);
}


static void
ngx_http_live_lookup_fetch_cleanup(void *data)
{
    ngx_http_live_lookup_fetch_t *f = data;

    if (f->done) {
        return;
    }

    f->done = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "live lookup: \"%V\" fetch abandoned", &f->key);

    ngx_http_live_lookup_release(f->zone, &f->key, f->hash, f->lock_expire);
}


/* wakes this worker's requests that wait for the key */

static void
ngx_http_live_lookup_notify(ngx_http_live_lookup_zone_t *zone,
    ngx_str_t *key, uint32_t hash)
{
    ngx_queue_t             *q;
    ngx_http_live_lookup_t  *lk;

    for (q = ngx_queue_head(&zone->waiting);
         q != ngx_queue_sentinel(&zone->waiting);
         q = ngx_queue_next(q))
    {
        lk = ngx_queue_data(q, ngx_http_live_lookup_t, queue);

        if (lk->hash != hash
            || ngx_memn2cmp(lk->key.data, key->data, lk->key.len, key->len)
               != 0)
        {
            continue;
        }

        if (!lk->wake.posted) {
            ngx_post_event(&lk->wake, &ngx_posted_events);
        }
    }
}


/*
 * A waiter in this worker is woken by notify(); one in another worker
 * finds the answer when its short timer re-checks the zone.
 */

static ngx_int_t
ngx_http_live_lookup_wait(ngx_http_request_t *r, ngx_http_live_lookup_t *lk)
{
    ngx_msec_t  delay;

    if (ngx_http_live_lookup_wake_init(r, lk) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_queue_insert_tail(&lk->zone->waiting, &lk->queue);

    /*
     * not cancelable: a worker that shuts down gracefully must answer
     * the waiting request first
     */

    /*
     * re-check soon at first, then less often: many requests waiting on
     * a slow service must not turn into a busy loop
     */

    delay = (ngx_current_msec - lk->started) / 4;
    delay = ngx_max(delay, lk->zone->poll);
    delay = ngx_min(delay, NGX_HTTP_LIVE_LOOKUP_MAX_POLL);

    ngx_add_timer(&lk->wake, delay);

    return NGX_OK;
}


static ngx_int_t
ngx_http_live_lookup_wake_init(ngx_http_request_t *r,
    ngx_http_live_lookup_t *lk)
{
    ngx_http_cleanup_t  *cln;

    if (lk->wake.handler) {
        return NGX_OK;
    }

    /* without it, a request gone while waiting leaves a live event */

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_live_lookup_wait_cleanup;
    cln->data = lk;

    lk->wake.handler = ngx_http_live_lookup_wake;
    lk->wake.data = lk;
    lk->wake.log = r->connection->log;

    return NGX_OK;
}


static void
ngx_http_live_lookup_unwait(ngx_http_live_lookup_t *lk)
{
    if (lk->queue.prev) {
        ngx_queue_remove(&lk->queue);
        lk->queue.prev = NULL;
        lk->queue.next = NULL;
    }

    if (lk->wake.timer_set) {
        ngx_del_timer(&lk->wake);
    }

    if (lk->wake.posted) {
        ngx_delete_posted_event(&lk->wake);
    }
}


static void
ngx_http_live_lookup_wake(ngx_event_t *ev)
{
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_http_live_lookup_t  *lk;

    lk = ev->data;
    r = lk->request;
    c = r->connection;

    ev->timedout = 0;

    ngx_http_set_log_request(c->log, r);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "live lookup: \"%V\" wake", &lk->key);

    r->write_event_handler(r);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_live_lookup_wait_cleanup(void *data)
{
    ngx_http_live_lookup_t *lk = data;

    ngx_http_live_lookup_unwait(lk);
}


/* an entry unused for "inactive" may go, unless it is being fetched */

static ngx_uint_t
ngx_http_live_lookup_inactive(ngx_http_live_zone_t *lru,
    ngx_http_live_zone_node_t *zn)
{
    ngx_http_live_lookup_zone_t *zone = lru->data;

    ngx_msec_t                    now;
    ngx_http_live_lookup_node_t  *node;

    node = (ngx_http_live_lookup_node_t *) zn;
    now = ngx_current_msec;

    if ((ngx_msec_int_t) (now - node->last)
        < (ngx_msec_int_t) zone->inactive)
    {
        return 0;
    }

    if (node->updating && (ngx_msec_int_t) (now - node->lock_expire) < 0) {
        return 0;
    }

    return 1;
}


static void
ngx_http_live_lookup_free(ngx_http_live_zone_t *lru,
    ngx_http_live_zone_node_t *zn)
{
    ngx_http_live_lookup_node_t  *node;

    node = (ngx_http_live_lookup_node_t *) zn;

    if (node->value) {
        ngx_slab_free_locked(lru->shpool, node->value);
    }
}


/* the module's postconfiguration calls it */

ngx_int_t
ngx_http_live_lookup_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_live_lookup_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_live_lookup_body_filter;

    return NGX_OK;
}


ngx_http_live_lookup_zone_t *
ngx_http_live_lookup_zone_add(ngx_conf_t *cf, ngx_str_t *name, size_t size,
    void *tag)
{
    ngx_http_live_lookup_zone_t  *zone;

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_live_lookup_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    zone->lru = ngx_http_live_zone_add(cf, name, size, tag,
                                       "live lookup zone");
    if (zone->lru == NULL) {
        return NULL;
    }

    zone->lru->node_size = sizeof(ngx_http_live_lookup_node_t);
    zone->lru->inactive = ngx_http_live_lookup_inactive;
    zone->lru->free = ngx_http_live_lookup_free;
    zone->lru->data = zone;

    zone->refresh = 60000;
    zone->stale = 600000;
    zone->inactive = 600000;
    zone->lock = 75000;
    zone->retry = 1000;
    zone->poll = 10;

    ngx_queue_init(&zone->waiting);

    return zone;
}
