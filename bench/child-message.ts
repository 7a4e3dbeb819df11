// The benches drive their node in a child process over IPC: wait for its next message of a type.

import type { ChildProcess } from "node:child_process";

export function childMessage<T = any>(child: ChildProcess, type: string): Promise<T> {
	return new Promise<T>((resolve) => {
		const on = (m: any) => {
			if (m?.type !== type) return;
			child.off("message", on);
			resolve(m as T);
		};
		child.on("message", on);
	});
}
