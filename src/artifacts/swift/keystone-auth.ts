// Swift's credentials from Keystone v3 (the shared client of src/openstack/keystone.ts): its
// token, and the public object-store endpoint of the token's catalog (in the configured region
// when one is) as the account's storage URL. TempAuth is the other way in (tempauth.ts).

import { Keystone } from "../../openstack/keystone.ts";
import type { SwiftAuth } from "./auth.ts";

export interface KeystoneAuthOptions {
	/** The identity endpoint: `https://host:5000`, `…/v3` or a v2.0 URL (then v3 at that host, with a warning). */
	authUrl: string;
	user: string;
	password: string;
	/** The project (tenant) the token is scoped to. */
	project: string;
	/** The domain of the user and the project (Keystone's `Default` unless told). */
	domain: string;
	region?: string;
}

export function keystoneAuth(o: KeystoneAuthOptions, warn: (message: string) => void = () => {}): SwiftAuth {
	const keystone = new Keystone(
		{
			authUrl: o.authUrl,
			username: o.user,
			password: o.password,
			project: o.project,
			domain: o.domain,
			region: o.region,
			interface: "public",
		},
		{ warn },
	);
	return {
		async credentials() {
			const token = await keystone.current();
			return { token: token.value, storageUrl: await keystone.endpoint("object-store") };
		},
		invalidate: () => keystone.invalidate(),
	};
}
