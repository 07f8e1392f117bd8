
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_LIVE_ZONE_H_INCLUDED_
#define _NGX_HTTP_LIVE_ZONE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_live_common.h"


/*
 * The shared memory kit of the suite: every zone of every module is
 * declared, initialised and filled through it.
 *
 * At configuration time:
 *
 *   ngx_http_live_zone_parse()  splits "name:size" (the messages of every
 *                               zone directive);
 *   ngx_http_live_zone_add()    declares an LRU zone: an rbtree of nodes
 *                               keyed by bytes, with an LRU queue;
 *   ngx_http_live_shm_add()     declares any other zone, with its own init;
 *   ngx_http_live_shm_init()    the common part of such an init handler:
 *                               reload, inherited zone, or a new shared
 *                               context and the zone's name in the slab
 *                               pool's messages.
 *
 * At run time, every call below under ngx_shmtx_lock(&zone->shpool->mutex):
 *
 *   ngx_http_live_zone_find()    the node of a key, or NULL;
 *   ngx_http_live_zone_insert()  a new zeroed node, most recently used;
 *   ngx_http_live_zone_touch()   makes a node the most recently used;
 *   ngx_http_live_zone_delete()  removes a node (and what it holds);
 *   ngx_http_live_zone_expire()  removes up to n nodes from the LRU end
 *                                while the "inactive" hook agrees;
 *   ngx_http_live_zone_alloc()   any memory of the zone.
 *
 * An LRU zone evicts by design: insert() and alloc() evict the least
 * recently used nodes, whatever the hook says, until the allocation fits,
 * so a full zone keeps working; one that would not fit even in an empty
 * zone evicts nothing.  The slab allocator's own "no memory"
 * [crit] line is off for it; what does not fit even in an empty zone is
 * said once a minute per zone at "error" level.  Any node, or memory a
 * node points to, may be gone after either call: look nodes up again.
 */


typedef struct ngx_http_live_zone_s  ngx_http_live_zone_t;


/* the head of every node of an LRU zone; the module's fields follow */

typedef struct {
    ngx_rbtree_node_t                node;      /* node.key: the hash */
    ngx_queue_t                      queue;
    u_char                          *key;       /* after node_size bytes */
    size_t                           len;
} ngx_http_live_zone_node_t;


/* may the node go now, unless memory is short (under the lock) */
typedef ngx_uint_t (*ngx_http_live_zone_inactive_pt)(
    ngx_http_live_zone_t *zone, ngx_http_live_zone_node_t *node);

/* frees what the node points to, not the node (under the lock) */
typedef void (*ngx_http_live_zone_free_pt)(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node);


typedef struct {
    ngx_rbtree_t                     rbtree;
    ngx_rbtree_node_t                sentinel;
    ngx_queue_t                      queue;     /* most recent first */
    ngx_uint_t                       pages;     /* free in an empty zone */
    ngx_msec_t                       log_time;
    ngx_uint_t                       logged;
} ngx_http_live_zone_sh_t;


struct ngx_http_live_zone_s {
    ngx_shm_zone_t                  *shm_zone;
    ngx_slab_pool_t                 *shpool;
    ngx_http_live_zone_sh_t         *sh;

    /* set by the module after ngx_http_live_zone_add() */
    size_t                           node_size; /* its node, head included */
    ngx_http_live_zone_inactive_pt   inactive;  /* NULL: never inactive */
    ngx_http_live_zone_free_pt       free;      /* NULL: nothing to free */
    void                            *data;      /* the module's */

    char                            *what;      /* "hls_fast_start_zone" */
};


NGX_HTTP_LIVE_HIDDEN
char *ngx_http_live_zone_parse(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *name, ssize_t *size);
NGX_HTTP_LIVE_HIDDEN
ngx_http_live_zone_t *ngx_http_live_zone_add(ngx_conf_t *cf, ngx_str_t *name,
    size_t size, void *tag, char *what);
NGX_HTTP_LIVE_HIDDEN
ngx_shm_zone_t *ngx_http_live_shm_add(ngx_conf_t *cf, ngx_str_t *name,
    size_t size, void *tag, ngx_shm_zone_init_pt init, void *data);
NGX_HTTP_LIVE_HIDDEN
void *ngx_http_live_shm_init(ngx_shm_zone_t *shm_zone, void *osh,
    size_t size, char *what, ngx_uint_t *created);

NGX_HTTP_LIVE_HIDDEN
ngx_http_live_zone_node_t *ngx_http_live_zone_find(ngx_http_live_zone_t *zone,
    ngx_str_t *key, ngx_rbtree_key_t hash);
NGX_HTTP_LIVE_HIDDEN
ngx_http_live_zone_node_t *ngx_http_live_zone_insert(
    ngx_http_live_zone_t *zone, ngx_str_t *key, ngx_rbtree_key_t hash);
NGX_HTTP_LIVE_HIDDEN
void ngx_http_live_zone_touch(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node);
NGX_HTTP_LIVE_HIDDEN
void ngx_http_live_zone_delete(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node);
NGX_HTTP_LIVE_HIDDEN
void ngx_http_live_zone_expire(ngx_http_live_zone_t *zone, ngx_uint_t n);
NGX_HTTP_LIVE_HIDDEN
void *ngx_http_live_zone_alloc(ngx_http_live_zone_t *zone, size_t size);


#endif /* _NGX_HTTP_LIVE_ZONE_H_INCLUDED_ */
