"use client";
// What this app's webhook route received and verified, read back every few seconds.
import { useEffect, useState } from "react";
import type { Received, Rejected } from "@/lib/webhooks";

const EVERY_MS = 2000;

export function WebhookLog() {
  const [inbox, setInbox] = useState<{ received: Received[]; rejected: Rejected[] }>({
    received: [],
    rejected: [],
  });

  useEffect(() => {
    let stopped = false;
    async function read() {
      const response = await fetch("/api/webhooks").catch(() => null);
      if (response?.ok && !stopped) setInbox(await response.json());
    }
    void read();
    const timer = setInterval(read, EVERY_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  return (
    <section>
      <h2>Webhooks received</h2>
      {inbox.received.length === 0 && <p>None yet.</p>}
      <ul id="webhooks">
        {inbox.received.map((event) => (
          <li key={event.event_id} data-type={event.type} data-media={event.media_id ?? ""}>
            <code>{event.type}</code> signature verified, {event.status ?? "-"} for{" "}
            {event.external_id ?? "-"}
            {event.deliveries > 1 && ` (delivered ${event.deliveries} times)`}
          </li>
        ))}
      </ul>
      {inbox.rejected.length > 0 && (
        <p id="rejected" className="error">
          Refused {inbox.rejected.length}: {inbox.rejected[0].reason}
        </p>
      )}
    </section>
  );
}
