
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
    u_char                          color;
    u_char                          updating;
    u_char                          failed;
    u_char                          backoff;
    u_char                          logged;
    u_char                          dummy;
    u_short                         len;
    ngx_queue_t                     queue;
    ngx_msec_t                      last;
    ngx_msec_t                      fetched;
    ngx_msec_t                      lock_expire;
    ngx_msec_t                      retry;
    ngx_msec_t                      log_time;
    ngx_pid_t                       owner;
    time_t                          ttl;
    size_t                          value_len;
    u_char                         *value;
    u_char                          data[1];
} ngx_http_live_lookup_node_t;


typedef struct {
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     queue;
} ngx_http_live_lookup_shctx_t;


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
static ngx_http_live_lookup_node_t *ngx_http_live_lookup_find(
    ngx_http_live_lookup_zone_t *zone, ngx_str_t *key, uint32_t hash);
static ngx_http_live_lookup_node_t *ngx_http_live_lookup_create(
    ngx_http_live_lookup_zone_t *zone, ngx_str_t *key, uint32_t hash);
static void *ngx_http_live_lookup_alloc(ngx_http_live_lookup_zone_t *zone,
    size_t size);
static void ngx_http_live_lookup_expire(ngx_http_live_lookup_zone_t *zone,
    ngx_uint_t n);
static void ngx_http_live_lookup_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_live_lookup_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


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
        lk->zone = shm_zone->data;
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
        }

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
    ngx_int_t                      rc;
    ngx_msec_t                     now, period;
    ngx_msec_int_t                 age;
    ngx_http_live_lookup_node_t   *node;
    ngx_http_live_lookup_zone_t   *zone;
    ngx_http_live_lookup_shctx_t  *sh;

    zone = lk->zone;
    now = ngx_current_msec;

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_http_live_lookup_expire(zone, 1);

    node = ngx_http_live_lookup_find(zone, &lk->key, lk->hash);

    if (node == NULL) {
        node = ngx_http_live_lookup_create(zone, &lk->key, lk->hash);

        if (node == NULL) {
            ngx_shmtx_unlock(&zone->shpool->mutex);

            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "live lookup: could not allocate node%s",
                          zone->shpool->log_ctx);

            /* still fetch; concurrent misses will not share it */
            *lock_expire = now + zone->lock;
            return NGX_BUSY;
        }

        /* a new node has no answer and no claim: the miss path below */
    }

    sh = zone->sh;

    node->last = now;
    ngx_queue_remove(&node->queue);
    ngx_queue_insert_head(&sh->queue, &node->queue);

    rc = NGX_BUSY;

    if (node->value) {
        age = (ngx_msec_int_t) (now - node->fetched);
        period = ngx_http_live_lookup_period(zone, node->ttl);

        if (age < (ngx_msec_int_t) (period + zone->stale)) {

            if (ngx_http_live_lookup_copy(r, lk, node) != NGX_OK) {
                ngx_shmtx_unlock(&zone->shpool->mutex);
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

            ngx_shmtx_unlock(&zone->shpool->mutex);

            ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "live lookup: \"%V\" hit, age:%M source:%ui%s",
                           &lk->key, (ngx_msec_t) age, lk->source,
                           rc == NGX_DONE ? " refresh" : "");
            return rc;
        }
    }

    /* no usable answer */

    if (ngx_http_live_lookup_claimed(node, now)) {
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "live lookup: \"%V\" miss, waiting", &lk->key);
        return NGX_AGAIN;
    }

    if (node->backoff && (ngx_msec_int_t) (now - node->retry) < 0) {
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "live lookup: \"%V\" miss, failed lately", &lk->key);
        return NGX_DECLINED;
    }

    *lock_expire = ngx_http_live_lookup_claim(zone, node, now);

    ngx_shmtx_unlock(&zone->shpool->mutex);

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

    /* the service gets no request body, whatever the client sent */

    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        return NGX_ERROR;
    }

    sr->request_body = rb;

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
    ngx_http_live_lookup_node_t  *node;
    ngx_http_live_lookup_zone_t  *zone;

    zone = f->zone;
    now = ngx_current_msec;
    log = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_http_live_lookup_find(zone, &f->key, f->hash);

    if (f->ok) {
        if (node == NULL) {
            node = ngx_http_live_lookup_create(zone, &f->key, f->hash);
        }

        value = NULL;

        if (node) {
            value = ngx_http_live_lookup_alloc(zone, f->value.len + 1);

            /* the eviction in alloc() may have taken the node itself */
            node = ngx_http_live_lookup_find(zone, &f->key, f->hash);
        }

        if (node == NULL || value == NULL) {
            if (value) {
                ngx_slab_free_locked(zone->shpool, value);
            }

            ngx_shmtx_unlock(&zone->shpool->mutex);

            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "live lookup: \"%V\" could not store the "
                          "answer%s", &f->key, zone->shpool->log_ctx);
            return;
        }

        if (node->value) {
            ngx_slab_free_locked(zone->shpool, node->value);
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

    ngx_shmtx_unlock(&zone->shpool->mutex);

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

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_http_live_lookup_find(zone, key, hash);

    if (node
        && node->updating
        && node->owner == ngx_pid
        && node->lock_expire == lock_expire)
    {
        node->updating = 0;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

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


static ngx_http_live_lookup_node_t *
ngx_http_live_lookup_find(ngx_http_live_lookup_zone_t *zone, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                      rc;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_live_lookup_node_t   *ln;
    ngx_http_live_lookup_shctx_t  *sh;

    sh = zone->sh;
    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        /* hash == node->key */

        ln = (ngx_http_live_lookup_node_t *) &node->color;

        rc = ngx_memn2cmp(key->data, ln->data, key->len, (size_t) ln->len);

        if (rc == 0) {
            return ln;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static ngx_http_live_lookup_node_t *
ngx_http_live_lookup_create(ngx_http_live_lookup_zone_t *zone, ngx_str_t *key,
    uint32_t hash)
{
    size_t                         size;
    ngx_rbtree_node_t             *node;
    ngx_http_live_lookup_node_t   *ln;
    ngx_http_live_lookup_shctx_t  *sh;

    sh = zone->sh;

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_live_lookup_node_t, data)
           + key->len;

    node = ngx_http_live_lookup_alloc(zone, size);
    if (node == NULL) {
        return NULL;
    }

    node->key = hash;

    ln = (ngx_http_live_lookup_node_t *) &node->color;

    ngx_memzero(&ln->updating,
                offsetof(ngx_http_live_lookup_node_t, data)
                - offsetof(ngx_http_live_lookup_node_t, updating));

    ln->len = (u_short) key->len;
    ln->last = ngx_current_msec;
    ngx_memcpy(ln->data, key->data, key->len);

    ngx_rbtree_insert(&sh->rbtree, node);
    ngx_queue_insert_head(&sh->queue, &ln->queue);

    return ln;
}


/* allocates in the locked zone, evicting the least recently used */

static void *
ngx_http_live_lookup_alloc(ngx_http_live_lookup_zone_t *zone, size_t size)
{
    void        *p;
    ngx_uint_t   i;

    for (i = 0; i < 16; i++) {
        p = ngx_slab_alloc_locked(zone->shpool, size);
        if (p) {
            return p;
        }

        ngx_http_live_lookup_expire(zone, 0);
    }

    return NULL;
}


/*
 * n == 0: evict the least recently used node, and up to two more that
 * are inactive; n == 1: only up to two inactive ones (as limit_req)
 */

static void
ngx_http_live_lookup_expire(ngx_http_live_lookup_zone_t *zone, ngx_uint_t n)
{
    ngx_msec_t                     now;
    ngx_queue_t                   *q;
    ngx_rbtree_node_t             *node;
    ngx_http_live_lookup_node_t   *ln;
    ngx_http_live_lookup_shctx_t  *sh;

    sh = zone->sh;
    now = ngx_current_msec;

    while (n < 3) {

        if (ngx_queue_empty(&sh->queue)) {
            return;
        }

        q = ngx_queue_last(&sh->queue);

        ln = ngx_queue_data(q, ngx_http_live_lookup_node_t, queue);

        if (n++ != 0) {

            if ((ngx_msec_int_t) (now - ln->last)
                < (ngx_msec_int_t) zone->inactive)
            {
                return;
            }

            if (ln->updating
                && (ngx_msec_int_t) (now - ln->lock_expire) < 0)
            {
                return;
            }
        }

        ngx_queue_remove(q);

        node = (ngx_rbtree_node_t *)
                   ((u_char *) ln - offsetof(ngx_rbtree_node_t, color));

        ngx_rbtree_delete(&sh->rbtree, node);

        if (ln->value) {
            ngx_slab_free_locked(zone->shpool, ln->value);
        }

        ngx_slab_free_locked(zone->shpool, node);
    }
}


static void
ngx_http_live_lookup_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t            **p;
    ngx_http_live_lookup_node_t   *ln, *lnt;

    for ( ;; ) {

        if (node->key < temp->key) {

            p = &temp->left;

        } else if (node->key > temp->key) {

            p = &temp->right;

        } else { /* node->key == temp->key */

            ln = (ngx_http_live_lookup_node_t *) &node->color;
            lnt = (ngx_http_live_lookup_node_t *) &temp->color;

            p = (ngx_memn2cmp(ln->data, lnt->data, ln->len, lnt->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
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
    ngx_shm_zone_t               *shm_zone;
    ngx_http_live_lookup_zone_t  *zone;

    shm_zone = ngx_shared_memory_add(cf, name, size, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", name);
        return NULL;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_live_lookup_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    zone->shm_zone = shm_zone;
    zone->refresh = 60000;
    zone->stale = 600000;
    zone->inactive = 600000;
    zone->lock = 75000;
    zone->retry = 1000;
    zone->poll = 10;

    ngx_queue_init(&zone->waiting);

    shm_zone->init = ngx_http_live_lookup_init_zone;
    shm_zone->data = zone;

    return zone;
}


static ngx_int_t
ngx_http_live_lookup_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_live_lookup_zone_t  *ozone = data;

    size_t                         len;
    ngx_http_live_lookup_zone_t   *zone;
    ngx_http_live_lookup_shctx_t  *sh;

    zone = shm_zone->data;

    if (ozone) {
        /* reload: the entries and their claims live on */
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_alloc(zone->shpool, sizeof(ngx_http_live_lookup_shctx_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    zone->sh = sh;
    zone->shpool->data = sh;

    ngx_rbtree_init(&sh->rbtree, &sh->sentinel,
                    ngx_http_live_lookup_rbtree_insert_value);

    ngx_queue_init(&sh->queue);

    len = sizeof(" in live lookup zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in live lookup zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}
