import { Connection } from "rabbitmq-client";
const c = new Connection(process.env.RABBITMQ_URL);
const ch = await c.acquire();
for (;;) { const m = await ch.basicGet({ queue: "notifications.info", noAck: true }); if (!m) break; console.log(JSON.stringify({ct: m.contentType, body: m.body, props: {messageId: m.messageId, headers: m.headers}})); }
await c.close();
