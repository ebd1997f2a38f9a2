import { Studio } from "./studio";
import { WebhookLog } from "./webhook-log";

export default function Home() {
  return (
    <main>
      <h1>reelay × Next.js</h1>
      <p>
        This app&apos;s server creates the upload with its API key; your browser sends the file
        straight to storage, follows the processing and plays it with a viewer token.
      </p>
      <Studio />
      <WebhookLog />
    </main>
  );
}
