// A background task run every `everyMs`, never overlapping itself (a slow pass makes the next
// tick skip, not pile up), logging its failures instead of throwing. Timers are unref'd, so a
// loop never keeps a stopping process alive; the caller clears them in `stopped`.

export function everyInterval(
	everyMs: number,
	task: () => Promise<unknown>,
	onError: (e: Error) => void,
	paused: () => boolean = () => false,
): NodeJS.Timeout {
	let running = false;
	const timer = setInterval(() => {
		if (running || paused()) return;
		running = true;
		task()
			.catch(onError)
			.finally(() => {
				running = false;
			});
	}, everyMs);
	timer.unref();
	return timer;
}
