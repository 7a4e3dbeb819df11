// Percent-decoding of paths and package names found in uploaded reports, which anyone running a
// job writes: a malformed escape (`%`, `%E0%A4%A`) keeps the text as written instead of throwing.

export function decodeUriText(text: string): string {
	try {
		return decodeURIComponent(text);
	} catch {
		return text;
	}
}
