// The web UI the gateway serves at `/` (docs/ui.md): whether it is on, and how long a browser
// session opened with an API token lasts before the user signs in again.

import { bool, duration, type Env } from "./settings.ts";

export const UI_SETTINGS = {
	enabled: bool(
		"CDS_UI",
		true,
		"serve the web UI at `/` on every API node (static files and the `/api/v1/ui` session and event routes)",
	),
	sessionSeconds: duration(
		"CDS_UI_SESSION_SECONDS",
		12 * 3600,
		"how long a web UI session (an `HttpOnly` cookie opened with an API token) lasts; signing out or revoking the token ends it sooner",
		{ min: 60, max: 30 * 24 * 3600 },
		"12h",
	),
};

export interface UiSettings {
	enabled: boolean;
	sessionMs: number;
}

export function readUiSettings(env: Env): UiSettings {
	return {
		enabled: UI_SETTINGS.enabled.read(env),
		sessionMs: UI_SETTINGS.sessionSeconds.read(env) * 1000,
	};
}
