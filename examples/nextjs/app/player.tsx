"use client";
// Plays reelay's HLS output with hls.js (bundled from npm), or natively where the browser can.
import Hls from "hls.js";
import { useEffect, useRef, useState } from "react";

export function Player({ src }: { src: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    if (!Hls.isSupported()) {
      element.src = src; // Safari plays HLS itself
      return;
    }
    const hls = new Hls();
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      element.dataset.manifest = "parsed";
      // Muted, so browsers allow it to start without a click.
      element.play().catch(() => undefined);
    });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) setError(`${data.type}: ${data.details}`);
    });
    hls.loadSource(src);
    hls.attachMedia(element);
    return () => hls.destroy();
  }, [src]);

  return (
    <figure>
      <video id="player" ref={video} controls muted playsInline />
      {error && <figcaption className="error">Playback failed: {error}</figcaption>}
    </figure>
  );
}
