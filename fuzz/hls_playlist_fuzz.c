/* fuzz-srcs: modules/hls_fast_start/ngx_http_hls_fast_start_playlist.c */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hls_fast_start_playlist.h"


/*
 * Parse any input; for every fragment count, render the fast-start
 * playlist into a buffer of exactly the announced size, and check that
 * the result parses again with the expected count and media sequence.
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                              *src, *dst, *last;
    size_t                               len;
    ngx_uint_t                           n, want;
    ngx_http_hls_fast_start_playlist_t   pl, out;

    src = malloc(size ? size : 1);
    if (src == NULL) {
        return 0;
    }

    memcpy(src, data, size);

    if (ngx_http_hls_fast_start_playlist_parse(src, size, &pl) != NGX_OK) {
        free(src);
        return 0;
    }

    for (n = 1; n <= NGX_HTTP_HLS_FAST_START_MAX_FRAGMENTS; n++) {

        len = ngx_http_hls_fast_start_playlist_size(&pl, n);

        dst = malloc(len ? len : 1);
        if (dst == NULL) {
            break;
        }

        last = ngx_http_hls_fast_start_playlist_render(&pl, src, n, dst);

        if ((size_t) (last - dst) != len) {
            abort();
        }

        want = n < pl.nsegments ? n : pl.nsegments;

        if (ngx_http_hls_fast_start_playlist_parse(dst, len, &out) != NGX_OK
            || out.nsegments != want
            || out.media_sequence != pl.media_sequence + pl.nsegments - want
            || out.target_duration != pl.target_duration)
        {
            abort();
        }

        free(dst);
    }

    free(src);

    return 0;
}
