// hls.js in headless Chromium, for the HLS tests and bench/hls.sh.
//
//   node play.js '{"page": "http://127.0.0.1:PORT/player",
//                  "plays": [{"name": "fs", "src": "/hls/s.m3u8"}, ...],
//                  "seconds": 12}'
//
// Opens "page" (any same-origin HTML page of the edge) once per play, all
// plays at once in one browser, injects hls.js and plays "src" muted.
// Prints one JSON object: {"plays": [...]} or {"skip": "why"} when
// Chromium cannot start.  Per play: ttff (ms from loadSource to the
// first "playing"), latency (hls.latency then: seconds behind the live
// edge), samples ([ms since start, currentTime] every 250 ms for
// "seconds"), waiting (stalls after the start), errors (hls.js ERROR
// events) and playlists (every .m3u8 answer the player got, in order).

'use strict';

const path = require('path');
const modules = process.env.HLS_PLAYER_MODULES
    || path.join(__dirname, '..', '..', '..', 'build', 'player',
                 'node_modules');
const { chromium } = require(path.join(modules, 'playwright-core'));
const hlsjs = path.join(modules, 'hls.js', 'dist', 'hls.min.js');

const conf = JSON.parse(process.argv[2]);

async function play(browser, p) {
    const page = await browser.newPage();
    const playlists = [];

    // the answers in the order the player asked for them
    page.on('response', (resp) => {
        if (/\.m3u8(\?|$)/.test(resp.url())) {
            const entry = { url: resp.url(), status: resp.status() };
            playlists.push(entry);
            entry.body = resp.text().catch(() => '');
        }
    });

    await page.goto(conf.page);
    await page.addScriptTag({ path: hlsjs });

    const r = await page.evaluate(async ({ src, seconds, wait }) => {
        const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
        const v = document.createElement('video');
        const r = { errors: [], samples: [], waiting: 0 };
        let started = null;
        let fatal = false;

        v.muted = true;
        document.body.appendChild(v);

        const hls = new Hls();
        const t0 = performance.now();

        hls.on(Hls.Events.ERROR, (e, d) => {
            r.errors.push({ details: d.details, fatal: d.fatal,
                            t: Math.round(performance.now() - t0) });
            if (d.fatal) {
                fatal = true;
            }
        });

        hls.on(Hls.Events.MANIFEST_PARSED, () => v.play().catch(() => {}));

        v.addEventListener('playing', () => {
            if (started === null) {
                started = performance.now();
                r.ttff = started - t0;
                r.latency = hls.latency;
            }
        });

        v.addEventListener('waiting', () => {
            if (started !== null) {
                r.waiting++;
            }
        });

        hls.loadSource(src);
        hls.attachMedia(v);

        while (started === null && !fatal
               && performance.now() - t0 < wait * 1000)
        {
            await sleep(20);
        }

        if (started !== null) {
            while (!fatal && performance.now() - started < seconds * 1000) {
                r.samples.push([Math.round(performance.now() - started),
                                v.currentTime]);
                await sleep(250);
            }
        }

        r.fatal = fatal;
        hls.destroy();
        return r;
    }, { src: p.src, seconds: conf.seconds || 12, wait: conf.wait || 30 });

    for (const e of playlists) {
        e.body = await e.body;
    }

    r.name = p.name;
    r.src = p.src;
    r.playlists = playlists;

    await page.close();
    return r;
}

(async () => {
    let browser;

    try {
        browser = await chromium.launch({
            executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
            headless: true,
            args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
                   '--no-first-run', '--disable-background-networking',
                   '--disable-component-update', '--disable-sync',
                   '--autoplay-policy=no-user-gesture-required'],
        });
    } catch (e) {
        console.log(JSON.stringify({ skip: 'Chromium cannot start: '
                                           + String(e.message).split('\n')[0]
                                   }));
        return;
    }

    try {
        const plays = await Promise.all(conf.plays.map((p) => play(browser,
                                                                   p)));
        console.log(JSON.stringify({ plays }));
    } finally {
        await browser.close();
    }
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
