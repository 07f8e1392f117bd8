/* fuzz-srcs: modules/common/ngx_http_live_playlist.c */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_live_playlist.h"


/*
 * Parse any input; for every fragment count, render the fast-start
 * playlist into a buffer of exactly the announced size, and check that
 * the result parses again with the expected count and sequence numbers.
 * Then the same playlist as a reload of a terminal whose timeline the
 * input's first bytes make up: whatever it renders keeps to RFC 8216
 * 6.2.1 (the media sequence never goes back).
 */

static void ngx_hls_fuzz_check(ngx_http_live_playlist_t *pl, u_char *src,
    ngx_http_live_playlist_view_t *view);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                             *src;
    ngx_int_t                           rc;
    ngx_uint_t                          n;
    ngx_http_live_playlist_view_t      view;
    ngx_http_live_playlist_timeline_t  tl, seen;
    ngx_http_live_playlist_t           pl;

    src = malloc(size ? size : 1);
    if (src == NULL) {
        return 0;
    }

    memcpy(src, data, size);

    if (ngx_http_live_playlist_parse(src, size, &pl) != NGX_OK) {
        free(src);
        return 0;
    }

    for (n = 1; n <= NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS; n++) {
        ngx_http_live_playlist_first(&pl, n, &view, &tl);

        if (view.first != pl.nsegments - (n < pl.nsegments ? n
                                                           : pl.nsegments))
        {
            abort();
        }

        ngx_hls_fuzz_check(&pl, src, &view);

        /* the same playlist again: as it is */

        if (ngx_http_live_playlist_update(&pl, &tl, &view)
            != NGX_AGAIN || view.first != pl.nsegments - (n < pl.nsegments
                                                          ? n : pl.nsegments))
        {
            if (n < pl.nsegments) {
                abort();
            }
        }
    }

    /* a timeline made of the input's first bytes */

    memset(&tl, 0, sizeof(tl));
    memcpy(&tl, data, size < sizeof(tl) ? size : sizeof(tl));
    seen = tl;

    rc = ngx_http_live_playlist_update(&pl, &tl, &view);

    /* a rewritten answer never goes back, nor does its last segment */

    if (rc == NGX_AGAIN) {
        if (view.ms < seen.floor
            || tl.end != view.ms + (pl.nsegments - view.first)
            || tl.end < seen.end)
        {
            abort();
        }

        ngx_hls_fuzz_check(&pl, src, &view);

    } else if (tl.end != pl.media_sequence + pl.nsegments || tl.shift != 0)
    {
        abort();
    }

    free(src);

    return 0;
}


static void
ngx_hls_fuzz_check(ngx_http_live_playlist_t *pl, u_char *src,
    ngx_http_live_playlist_view_t *view)
{
    u_char                    *dst, *last;
    size_t                     len;
    ngx_http_live_playlist_t   out;

    len = ngx_http_live_playlist_size(pl, view);

    dst = malloc(len ? len : 1);
    if (dst == NULL) {
        return;
    }

    last = ngx_http_live_playlist_render(pl, src, view, dst);

    if ((size_t) (last - dst) != len) {
        abort();
    }

    if (ngx_http_live_playlist_parse(dst, len, &out) != NGX_OK
        || out.nsegments != pl->nsegments - view->first
        || out.media_sequence != view->ms
        || out.discontinuity_sequence != view->ds
        || out.target_duration != pl->target_duration)
    {
        abort();
    }

    free(dst);
}
