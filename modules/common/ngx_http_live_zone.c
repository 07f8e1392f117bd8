
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_live_zone.h"


/* how often a zone too small for one allocation says so */
#define NGX_HTTP_LIVE_ZONE_LOG_PERIOD  60000


static ngx_int_t ngx_http_live_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_live_zone_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


char *
ngx_http_live_zone_parse(ngx_conf_t *cf, ngx_str_t *value, ngx_str_t *name,
    ssize_t *size)
{
    u_char     *p;
    ngx_str_t   s;

    p = ngx_strlchr(value->data, value->data + value->len, ':');

    if (p == NULL || p == value->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\", expected name:size", value);
        return NGX_CONF_ERROR;
    }

    name->data = value->data;
    name->len = p - value->data;

    s.data = p + 1;
    s.len = value->data + value->len - s.data;

    *size = ngx_parse_size(&s);

    if (*size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    if (*size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", value);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_http_live_zone_t *
ngx_http_live_zone_add(ngx_conf_t *cf, ngx_str_t *name, size_t size,
    void *tag, char *what)
{
    ngx_http_live_zone_t  *zone;

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_live_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     zone->inactive = NULL;
     *     zone->free = NULL;
     *     zone->data = NULL;
     */

    zone->node_size = sizeof(ngx_http_live_zone_node_t);
    zone->what = what;

    zone->shm_zone = ngx_http_live_shm_add(cf, name, size, tag,
                                           ngx_http_live_zone_init, zone);
    if (zone->shm_zone == NULL) {
        return NULL;
    }

    return zone;
}


ngx_shm_zone_t *
ngx_http_live_shm_add(ngx_conf_t *cf, ngx_str_t *name, size_t size,
    void *tag, ngx_shm_zone_init_pt init, void *data)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, name, size, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", name);
        return NULL;
    }

    shm_zone->init = init;
    shm_zone->data = data;

    return shm_zone;
}


/*
 * osh: the shared context of the zone before a reload, if any.  A new
 * context is zeroed, and "created" says so; the slab pool's messages
 * then name the zone: " in <what> "<name>"".
 */

void *
ngx_http_live_shm_init(ngx_shm_zone_t *shm_zone, void *osh, size_t size,
    char *what, ngx_uint_t *created)
{
    void             *sh;
    size_t            len;
    ngx_slab_pool_t  *shpool;

    *created = 0;

    if (osh) {
        return osh;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        return shpool->data;
    }

    sh = ngx_slab_calloc(shpool, size);
    if (sh == NULL) {
        return NULL;
    }

    shpool->data = sh;

    len = sizeof(" in  \"\"") + ngx_strlen(what) + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NULL;
    }

    ngx_sprintf(shpool->log_ctx, " in %s \"%V\"%Z", what,
                &shm_zone->shm.name);

    *created = 1;

    return sh;
}


static ngx_int_t
ngx_http_live_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_live_zone_t  *ozone = data;

    ngx_uint_t             created;
    ngx_http_live_zone_t  *zone;

    zone = shm_zone->data;
    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    zone->sh = ngx_http_live_shm_init(shm_zone, ozone ? ozone->sh : NULL,
                                      sizeof(ngx_http_live_zone_sh_t),
                                      zone->what, &created);
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    /* a full zone evicts, as it should: alloc() logs what matters */
    zone->shpool->log_nomem = 0;

    if (created) {
        ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel,
                        ngx_http_live_zone_rbtree_insert_value);
        ngx_queue_init(&zone->sh->queue);

        /* one run of pages: the most an allocation can ever get */
        zone->sh->pages = zone->shpool->pfree;
    }

    return NGX_OK;
}


ngx_http_live_zone_node_t *
ngx_http_live_zone_find(ngx_http_live_zone_t *zone, ngx_str_t *key,
    ngx_rbtree_key_t hash)
{
    ngx_int_t                   rc;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_http_live_zone_node_t  *zn;

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        zn = (ngx_http_live_zone_node_t *) node;

        rc = ngx_memn2cmp(key->data, zn->key, key->len, zn->len);

        if (rc == 0) {
            return zn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


ngx_http_live_zone_node_t *
ngx_http_live_zone_insert(ngx_http_live_zone_t *zone, ngx_str_t *key,
    ngx_rbtree_key_t hash)
{
    ngx_http_live_zone_node_t  *zn;

    zn = ngx_http_live_zone_alloc(zone, zone->node_size + key->len);
    if (zn == NULL) {
        return NULL;
    }

    ngx_memzero(zn, zone->node_size);

    zn->node.key = hash;
    zn->key = (u_char *) zn + zone->node_size;
    zn->len = key->len;
    ngx_memcpy(zn->key, key->data, key->len);

    ngx_rbtree_insert(&zone->sh->rbtree, &zn->node);
    ngx_queue_insert_head(&zone->sh->queue, &zn->queue);

    return zn;
}


void
ngx_http_live_zone_touch(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node)
{
    ngx_queue_remove(&node->queue);
    ngx_queue_insert_head(&zone->sh->queue, &node->queue);
}


void
ngx_http_live_zone_delete(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node)
{
    ngx_queue_remove(&node->queue);
    ngx_rbtree_delete(&zone->sh->rbtree, &node->node);

    if (zone->free) {
        zone->free(zone, node);
    }

    ngx_slab_free_locked(zone->shpool, node);
}


void
ngx_http_live_zone_expire(ngx_http_live_zone_t *zone, ngx_uint_t n)
{
    ngx_queue_t                *q;
    ngx_http_live_zone_node_t  *zn;

    while (n--) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&zone->sh->queue);
        zn = ngx_queue_data(q, ngx_http_live_zone_node_t, queue);

        if (zone->inactive == NULL || !zone->inactive(zone, zn)) {
            return;
        }

        ngx_http_live_zone_delete(zone, zn);
    }
}


/*
 * The least recently used nodes go until the allocation fits: freeing
 * nodes of other sizes frees their slab pages only when whole pages
 * empty, so one eviction is not always enough.  An allocation of more
 * pages than an empty zone has takes nothing: it would empty the zone
 * for nothing.
 */

void *
ngx_http_live_zone_alloc(ngx_http_live_zone_t *zone, size_t size)
{
    void                       *p;
    ngx_msec_t                  now;
    ngx_queue_t                *q;
    ngx_http_live_zone_sh_t    *sh;
    ngx_http_live_zone_node_t  *zn;

    sh = zone->sh;

    if (size > ngx_pagesize / 2
        && (size + ngx_pagesize - 1) / ngx_pagesize > sh->pages)
    {
        goto failed;
    }

    for ( ;; ) {
        p = ngx_slab_alloc_locked(zone->shpool, size);
        if (p) {
            return p;
        }

        if (ngx_queue_empty(&sh->queue)) {
            break;
        }

        q = ngx_queue_last(&sh->queue);
        zn = ngx_queue_data(q, ngx_http_live_zone_node_t, queue);

        ngx_http_live_zone_delete(zone, zn);
    }

failed:

    now = ngx_current_msec;
    sh->logged++;

    if (sh->log_time == 0
        || now - sh->log_time >= NGX_HTTP_LIVE_ZONE_LOG_PERIOD)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "could not allocate %uz bytes%s, even with every "
                      "entry evicted (%ui time(s) since the last such line)",
                      size, zone->shpool->log_ctx, sh->logged);

        sh->log_time = now ? now : 1;
        sh->logged = 0;
    }

    return NULL;
}


static void
ngx_http_live_zone_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t          **p;
    ngx_http_live_zone_node_t   *zn, *znt;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            zn = (ngx_http_live_zone_node_t *) node;
            znt = (ngx_http_live_zone_node_t *) temp;

            p = (ngx_memn2cmp(zn->key, znt->key, zn->len, znt->len) < 0)
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
