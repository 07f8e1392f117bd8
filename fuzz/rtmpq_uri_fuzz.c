/* fuzz-srcs: modules/common/ngx_live_quic.c */
/* fuzz-libs: -lngtcp2_crypto_gnutls -lngtcp2 -lgnutls */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <stdlib.h>
#include <string.h>
#include "ngx_live_quic.h"


/*
 * The tunnel's URI parser: rtmpq://host[:port]/app and
 * rtmp://...?transport=quic.  What it accepts must make sense: a host,
 * a port in range, and no transport=quic left in the path.
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char      *uri, *p;
    char       host[256], path[1024];
    unsigned   port;

    uri = malloc(size + 1);
    if (uri == NULL) {
        return 0;
    }

    memcpy(uri, data, size);
    uri[size] = '\0';

    if (ngx_live_quic_parse_uri(uri, host, sizeof(host), &port, path,
                                sizeof(path))
        == 0)
    {
        if (host[0] == '\0' || port == 0 || port > 65535
            || strlen(host) >= sizeof(host) || strlen(path) >= sizeof(path))
        {
            abort();
        }

        /* the arguments after the first "?", split at "&" */

        for (p = strchr(path, '?'); p; p = strchr(p + 1, '&')) {
            if (strncmp(p + 1, "transport=quic", 14) == 0
                && (p[15] == '\0' || p[15] == '&'))
            {
                abort();
            }
        }
    }

    free(uri);

    return 0;
}
