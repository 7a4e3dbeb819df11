// The Kafka client library, loaded at the first Kafka hook or event integration: loading it
// compiles its option schemas (~0.6 s of CPU), which a node that serves no Kafka integration —
// most of them, `npm start` included — should not pay at every start.

let loading: Promise<typeof import("@platformatic/kafka")> | undefined;

export function kafkaClient(): Promise<typeof import("@platformatic/kafka")> {
	loading ??= import("@platformatic/kafka");
	return loading;
}
