// The Swift artifact store against the all-in-one of test/tools/start-swift.sh (TempAuth) or,
// with KEYSTONE_URL, through the Keystone proxy of test/tools/start-keystone.sh.

import { randomBytes } from "node:crypto";
import { SwiftArtifactStore } from "../../src/artifacts/swift/swift-artifact-store.ts";
import { keystoneAuth } from "../../src/artifacts/swift/keystone-auth.ts";
import { tempAuth } from "../../src/artifacts/swift/tempauth.ts";

export type SwiftAuthKind = "tempauth" | "keystone";

/** A store on a fresh container prefix, so suites and runs never see each other's blobs. */
export function swiftTestStore(kind: SwiftAuthKind, segmentBytes = 64 * 1024, tempUrls = true) {
	const prefix = `t${randomBytes(4).toString("hex")}-`;
	const auth =
		kind === "tempauth"
			? tempAuth(`${process.env.SWIFT_URL}/auth/v1.0`, process.env.SWIFT_USER!, process.env.SWIFT_KEY!)
			: keystoneAuth({
					authUrl: process.env.KEYSTONE_URL!,
					user: process.env.KEYSTONE_USER!,
					password: process.env.KEYSTONE_PASSWORD!,
					project: process.env.KEYSTONE_PROJECT!,
					domain: "Default",
					region: process.env.KEYSTONE_REGION,
				});
	return { store: new SwiftArtifactStore({ auth, containerPrefix: prefix, segmentBytes, tempUrls }), prefix };
}
