// The Swift store from its settings: Keystone v3 or TempAuth, as CDS_SWIFT_AUTH_KIND says.

import type { SwiftStoreSettings } from "../index.ts";
import { keystoneAuth } from "./keystone-auth.ts";
import { SwiftArtifactStore } from "./swift-artifact-store.ts";
import { tempAuth } from "./tempauth.ts";

export function swiftStoreFrom(
	s: SwiftStoreSettings,
	log?: { info(msg: string): void; warn(msg: string): void },
): SwiftArtifactStore {
	const auth =
		s.authKind === "tempauth"
			? tempAuth(s.authUrl, s.user, s.password)
			: keystoneAuth(
					{
						authUrl: s.authUrl,
						user: s.user,
						password: s.password,
						project: s.project ?? "",
						domain: s.domain,
						region: s.region,
					},
					(m) => log?.warn(m),
				);
	return new SwiftArtifactStore({
		auth,
		containerPrefix: s.containerPrefix,
		segmentBytes: s.segmentBytes,
		tempUrls: s.tempUrls,
		log,
	});
}
