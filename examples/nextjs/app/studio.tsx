"use client";
// Pick a file, upload it straight to storage, follow its processing live, play it.
import { useEffect, useState, type FormEvent } from "react";
import { uploadDirect } from "@/lib/direct-upload";
import type { Problem, ProgressData, StartedUpload } from "@/lib/types";
import { Player } from "./player";

type Phase = "idle" | "uploading" | "processing" | "completed" | "failed" | "canceled";
type Line = { name: string; data: ProgressData };

const TERMINAL = ["completed", "failed", "canceled"] as const;

async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const problem: Partial<Problem> = await response.json().catch(() => ({}));
    throw new Error(problem.detail ?? `${path} answered ${response.status}`);
  }
  return response.json();
}

export function Studio() {
  const [phase, setPhase] = useState<Phase>("idle");
  const [sent, setSent] = useState(0);
  const [started, setStarted] = useState<StartedUpload | null>(null);
  const [lines, setLines] = useState<Line[]>([]);
  const [playable, setPlayable] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const file = new FormData(event.currentTarget).get("file");
    if (!(file instanceof File) || file.size === 0) return;
    setPhase("uploading");
    setError(null);
    setLines([]);
    setPlayable(false);
    setStarted(null);
    try {
      const upload = await post<StartedUpload>("/api/uploads", {
        filename: file.name,
        content_type: file.type || "application/octet-stream",
        size: file.size,
      });
      // Following before the upload ends, so not one event of its processing is missed.
      setStarted(upload);
      const parts = await uploadDirect(file, upload.upload, setSent);
      await post(`/api/uploads/${upload.media.id}/complete`, parts ? { parts } : {});
      setPhase((now) => (now === "uploading" ? "processing" : now));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
      setPhase("failed");
    }
  }

  // A plain EventSource on reelay's own origin: the viewer token in the URL is all it needs.
  useEffect(() => {
    if (!started) return;
    const { media, viewer, reelay_url } = started;
    const url = `${reelay_url}/videos/${media.id}/events?token=${encodeURIComponent(viewer.token)}`;
    const source = new EventSource(url);
    const listen = (name: string) =>
      source.addEventListener(name, (message) => {
        const data: ProgressData = JSON.parse((message as MessageEvent<string>).data);
        setLines((seen) => [...seen, { name, data }]);
        if (data.playable || data.status === "completed") setPlayable(true);
        if ((TERMINAL as readonly string[]).includes(name)) {
          // The server closes the stream after a terminal event; don't let it reconnect.
          source.close();
          setPhase(name as Phase);
          if (data.error) setError(data.error.message);
        }
      });
    ["status", "progress", ...TERMINAL].forEach(listen);
    // EventSource retries a dropped connection by itself; it gives up only on a refusal.
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        setError(
          `${reelay_url} refused the progress stream: is this page's origin ` +
            `(${window.location.origin}) in its REELAY_CORS_ORIGINS?`,
        );
      }
    };
    return () => source.close();
  }, [started]);

  const latest = lines.at(-1)?.data;
  return (
    <>
      <form onSubmit={submit}>
        <input id="file" name="file" type="file" accept="video/*" required />
        <button type="submit" disabled={phase === "uploading"}>
          Upload
        </button>
      </form>
      <p
        id="phase"
        data-phase={phase}
        data-media={started?.media.id}
        data-upload={started?.upload.method}
      >
        {phase === "uploading" && `Uploading to storage: ${Math.round(sent * 100)} %`}
        {phase !== "uploading" && phase !== "idle" && latest &&
          `${latest.status}${latest.stage ? ` (${latest.stage})` : ""}: ` +
            `${latest.progress.toFixed(1)} %`}
      </p>
      {error && <p className="error">{error}</p>}
      {started && playable && (
        <Player
          src={
            `${started.reelay_url}/videos/${started.media.id}/hls/master.m3u8` +
            `?token=${encodeURIComponent(started.viewer.token)}`
          }
        />
      )}
      <ol id="events">
        {lines.map((line, index) => (
          <li key={index} data-event={line.name} data-status={line.data.status}>
            {line.name}: {line.data.status} {line.data.progress.toFixed(1)} %
          </li>
        ))}
      </ol>
    </>
  );
}
