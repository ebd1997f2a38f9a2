// Playing a video: hls.js (vendored, loaded the first time a video is opened) on the HLS master
// playlist. While the item is still processing the variant playlists grow without an end tag;
// hls.js keeps reloading them, so when processing completes the same player simply reaches
// the end tag: no reload, no jump.

import { pathOf } from "./api.js";

const HLS_SCRIPT = "/static/vendor/hls.js-1.5.20/hls.light.min.js";
let loading = null;

function loadHls() {
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = HLS_SCRIPT;
    script.onload = () => resolve(window.Hls);
    script.onerror = () => {
      loading = null;
      reject(new Error("the player did not load"));
    };
    document.head.append(script);
  });
  return loading;
}

export function canPlay(media) {
  return media.kind === "video" && (media.playable ?? media.status === "completed") === true;
}

// Starts playback of `media` in `video`; the function it returns stops it.
export async function attach(video, media) {
  const base = pathOf(media);
  const playlist = `${base}/hls/master.m3u8`;
  const Hls = await loadHls().catch(() => null);
  if (Hls?.isSupported()) {
    // No worker: it would be a blob: script, which the page's policy does not allow.
    const hls = new Hls({ enableWorker: false, startPosition: 0 });
    hls.loadSource(playlist);
    hls.attachMedia(video);
    return () => hls.destroy();
  }
  if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = playlist; // Safari plays HLS itself
  } else if (media.status === "completed") {
    video.src = `${base}/download?rendition=mp4`;
  }
  return () => {
    video.removeAttribute("src");
    video.load();
  };
}
