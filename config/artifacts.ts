// Artifact, cache and report-file storage knobs.

import { ARTIFACT_STORE_KINDS, type SwiftStoreSettings } from "../src/artifacts/index.ts";
import {
	bool,
	bytes,
	ConfigError,
	type Env,
	oneOf,
	optionalString,
	readAll,
	secret,
	string,
	url,
} from "./settings.ts";

export const ARTIFACT_SETTINGS = {
	maxBytes: bytes(
		"CDS_MAX_ARTIFACT_BYTES",
		1024 ** 3,
		"largest artifact, cache or report file (`512MiB`, `1GiB`…)",
		{ min: 1 },
		"1GiB",
	),
	maxPluginBytes: bytes(
		"CDS_MAX_PLUGIN_BYTES",
		100 * 1024 ** 2,
		"largest plugin binary `cds admin plugin import` may upload (413 above)",
		{ min: 1 },
		"100MiB",
	),
	store: optionalString(
		"CDS_ARTIFACT_STORE",
		"where artifact, cache and report blobs live (`src/artifacts`): `gridfs` (in MongoDB, shared by the cluster), `filesystem` (under `$CDS_DATA_DIR/artifacts`) or `swift` (OpenStack Swift, `CDS_SWIFT_*`; docs/openstack.md)",
		{
			pattern: new RegExp(`^(${ARTIFACT_STORE_KINDS.join("|")})$`),
			expected: `one of ${ARTIFACT_STORE_KINDS.join(", ")}`,
		},
		"`gridfs` with `MONGO_URL`, else `filesystem`",
	),
};

const [swiftPassword, swiftPasswordFile] = secret(
	"CDS_SWIFT_PASSWORD",
	"the Swift user's password (Keystone) or key (TempAuth); never logged",
);

/** The Swift store's knobs (CDS_ARTIFACT_STORE=swift), after the OpenStack integration model. */
export const SWIFT_SETTINGS = {
	authUrl: url(
		"CDS_SWIFT_AUTH_URL",
		["http:", "https:"],
		"identity endpoint: Keystone (`https://keystone:5000/v3`; a v2.0 address is used as v3 at that host, with a warning) or TempAuth (`https://swift/auth/v1.0`) — the model's `address`",
	),
	authKind: oneOf(
		"CDS_SWIFT_AUTH_KIND",
		["keystone", "tempauth"],
		"keystone",
		"`keystone` (v3 password authentication, token scoped to the project) or `tempauth` (Swift's v1.0 TempAuth)",
	),
	user: optionalString("CDS_SWIFT_USER", "the Swift user (`username`; TempAuth: `account:user`)"),
	password: swiftPassword,
	passwordFile: swiftPasswordFile,
	project: optionalString("CDS_SWIFT_PROJECT", "Keystone project the token is scoped to (`tenant_name`)"),
	domain: string("CDS_SWIFT_DOMAIN", "Default", "Keystone domain of the user and the project (`domain`)"),
	region: optionalString(
		"CDS_SWIFT_REGION",
		"region of the object-store endpoint in Keystone's catalog (`region`; unset: the first public one)",
	),
	containerPrefix: string(
		"CDS_SWIFT_CONTAINER_PREFIX",
		"cds-",
		"container names are this prefix and the project key (`storage_container_prefix`)",
		{
			pattern: /^[A-Za-z0-9._-]{1,64}$/,
			expected:
				"1 to 64 letters, digits, `.`, `_` or `-` (garbage collection lists the containers with this prefix)",
		},
	),
	segmentBytes: bytes(
		"CDS_SWIFT_SEGMENT_BYTES",
		32 * 1024 ** 2,
		"above this a blob is a Static Large Object of segments this large; workers upload directly (TempURL), one URL per segment above it",
		{ min: 1024, max: 5 * 1024 ** 3 },
		"32MiB",
	),
	tempUrls: bool(
		"CDS_SWIFT_TEMPURL",
		true,
		"workers move bytes straight to and from Swift with TempURLs (`storage_temporary_url_supported`; the account's key is set when it has none); off: through the API",
	),
};

/** The Swift store's settings: the store's own contract (src/ does not import config/). */
export type SwiftSettings = SwiftStoreSettings;

function readSwiftSettings(env: Env): SwiftSettings {
	const { passwordFile: _read, ...s } = readAll(env, SWIFT_SETTINGS);
	const missing = [
		!s.authUrl && "CDS_SWIFT_AUTH_URL",
		!s.user && "CDS_SWIFT_USER",
		!s.password && "CDS_SWIFT_PASSWORD (or CDS_SWIFT_PASSWORD_FILE)",
		s.authKind === "keystone" && !s.project && "CDS_SWIFT_PROJECT",
	].filter(Boolean);
	if (missing.length > 0)
		throw new ConfigError(`CDS_ARTIFACT_STORE=swift (auth ${s.authKind}) needs ${missing.join(", ")}`);
	return { ...s, authUrl: s.authUrl!, user: s.user!, password: s.password! };
}

export interface ArtifactSettings {
	maxBytes: number;
	/** Largest plugin binary (stored in the same blob store). */
	maxPluginBytes: number;
	/** The registry name of the artifact store (src/artifacts/index.ts). */
	store: string;
	/** With CDS_ARTIFACT_STORE=swift. */
	swift?: SwiftSettings;
}

export function readArtifactSettings(env: Env, mongoUrl: string | undefined): ArtifactSettings {
	const { maxBytes, maxPluginBytes, store } = readAll(env, ARTIFACT_SETTINGS);
	if (store === "gridfs" && !mongoUrl) {
		throw new ConfigError("CDS_ARTIFACT_STORE=gridfs needs MONGO_URL: GridFS lives in MongoDB");
	}
	const chosen = store ?? (mongoUrl ? "gridfs" : "filesystem");
	return {
		maxBytes,
		maxPluginBytes,
		store: chosen,
		...(chosen === "swift" ? { swift: readSwiftSettings(env) } : {}),
	};
}
