// The request bodies the OpenStack stand-in accepts, written from the published API references
// (Keystone v3 "Password authentication with scoped authorization", Nova v2.1 "Create Server" /
// "Attach a volume to an instance", Cinder v3 "Create a volume") — kept here, in the test tree,
// so the driver's clients and the stand-in cannot share one misreading. Unknown fields are
// refused as Nova's JSON-schema validation refuses them ("Additional properties are not allowed").

export type Schema =
	| { type: "string"; maxLength?: number; minLength?: number; pattern?: RegExp; enum?: string[] }
	| { type: "integer"; minimum?: number }
	| { type: "boolean" }
	| { type: "array"; items: Schema; maxItems?: number }
	| { type: "object"; properties: Record<string, Schema>; required?: string[]; additional?: Schema }
	| { type: "oneOf"; options: Schema[] }
	| { type: "const"; value: unknown };

const str = (maxLength = 255, minLength = 0): Schema => ({ type: "string", maxLength, minLength });
const domainRef: Schema = { type: "object", properties: { id: str(64), name: str(255, 1) } };

export const KEYSTONE_AUTH: Schema = {
	type: "object",
	required: ["auth"],
	properties: {
		auth: {
			type: "object",
			required: ["identity"],
			properties: {
				identity: {
					type: "object",
					required: ["methods"],
					properties: {
						methods: { type: "array", items: { type: "string", enum: ["password", "token"] } },
						password: {
							type: "object",
							required: ["user"],
							properties: {
								user: {
									type: "object",
									required: ["password"],
									properties: { id: str(64), name: str(255, 1), domain: domainRef, password: str(4096, 1) },
								},
							},
						},
					},
				},
				scope: {
					type: "object",
					properties: {
						project: { type: "object", properties: { id: str(64), name: str(255, 1), domain: domainRef } },
						domain: domainRef,
						system: { type: "object", properties: {} },
					},
				},
			},
		},
	},
};

const metadata: Schema = {
	type: "object",
	properties: {},
	additional: { type: "string", maxLength: 255 },
};

const tag: Schema = { type: "string", minLength: 1, maxLength: 60, pattern: /^[^,/]*$/ };

/** Nova 2.1 "Create Server" (the fields this stand-in models; any other is refused). */
export const NOVA_SERVER_CREATE: Schema = {
	type: "object",
	required: ["server"],
	properties: {
		server: {
			type: "object",
			required: ["name", "flavorRef", "networks"],
			properties: {
				name: { type: "string", minLength: 1, maxLength: 255, pattern: /^\S.*\S$|^\S$/ },
				imageRef: str(255),
				flavorRef: str(255, 1),
				networks: {
					type: "oneOf",
					options: [
						{ type: "string", enum: ["auto", "none"] },
						{
							type: "array",
							items: {
								type: "object",
								properties: { uuid: str(36), port: str(36), fixed_ip: str(64), tag: str(60) },
							},
						},
					],
				},
				key_name: str(255, 1),
				metadata,
				tags: { type: "array", items: tag, maxItems: 50 },
				user_data: { type: "string", maxLength: 65535, pattern: /^[A-Za-z0-9+/]*={0,2}$/ },
				config_drive: { type: "boolean" },
				availability_zone: str(255, 1),
				security_groups: { type: "array", items: { type: "object", properties: { name: str(255, 1) } } },
				description: str(255),
				min_count: { type: "integer", minimum: 1 },
				max_count: { type: "integer", minimum: 1 },
			},
		},
	},
};

/** The minimum microversion of server-create fields newer than 2.1. */
export const SERVER_FIELD_SINCE: Record<string, string> = { tags: "2.52", description: "2.19" };

export const NOVA_VOLUME_ATTACH: Schema = {
	type: "object",
	required: ["volumeAttachment"],
	properties: {
		volumeAttachment: {
			type: "object",
			required: ["volumeId"],
			properties: {
				volumeId: str(36, 1),
				device: str(255),
				tag: str(60),
				delete_on_termination: { type: "boolean" },
			},
		},
	},
};

export const CINDER_VOLUME_CREATE: Schema = {
	type: "object",
	required: ["volume"],
	properties: {
		volume: {
			type: "object",
			required: ["size"],
			properties: {
				size: { type: "integer", minimum: 1 },
				name: str(255),
				description: str(255),
				metadata,
				availability_zone: str(255),
				volume_type: str(255),
				snapshot_id: str(36),
				source_volid: str(36),
				imageRef: str(36),
				multiattach: { type: "boolean" },
			},
		},
	},
};

/** Cinder v3 volume actions this stand-in models: `os-detach` ("Detach volume from server"). */
export const CINDER_VOLUME_ACTION: Schema = {
	type: "object",
	properties: {
		"os-detach": { type: "object", properties: { attachment_id: { type: "string", maxLength: 36 } } },
	},
};

/** The first problem of `value` against `schema`, as a JSON-schema validator words it; undefined when valid. */
export function validate(schema: Schema, value: unknown, at = "body"): string | undefined {
	switch (schema.type) {
		case "string":
			if (typeof value !== "string") return `${at}: ${JSON.stringify(value)} is not of type 'string'`;
			if (schema.maxLength !== undefined && value.length > schema.maxLength) return `${at}: is too long`;
			if (schema.minLength !== undefined && value.length < schema.minLength) return `${at}: is too short`;
			if (schema.pattern && !schema.pattern.test(value)) return `${at}: does not match ${schema.pattern}`;
			if (schema.enum && !schema.enum.includes(value))
				return `${at}: '${value}' is not one of ${schema.enum}`;
			return undefined;
		case "integer":
			if (typeof value !== "number" || !Number.isInteger(value))
				return `${at}: ${JSON.stringify(value)} is not of type 'integer'`;
			if (schema.minimum !== undefined && value < schema.minimum)
				return `${at}: is less than ${schema.minimum}`;
			return undefined;
		case "boolean":
			return typeof value === "boolean" ? undefined : `${at}: is not of type 'boolean'`;
		case "const":
			return value === schema.value ? undefined : `${at}: must be ${JSON.stringify(schema.value)}`;
		case "array": {
			if (!Array.isArray(value)) return `${at}: is not of type 'array'`;
			if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${at}: is too long`;
			for (let i = 0; i < value.length; i++) {
				const p = validate(schema.items, value[i], `${at}[${i}]`);
				if (p) return p;
			}
			return undefined;
		}
		case "oneOf": {
			const problems = schema.options.map((o) => validate(o, value, at));
			return problems.some((p) => p === undefined) ? undefined : problems[0];
		}
		case "object": {
			if (value === null || typeof value !== "object" || Array.isArray(value))
				return `${at}: is not of type 'object'`;
			const v = value as Record<string, unknown>;
			for (const r of schema.required ?? []) if (!(r in v)) return `${at}: '${r}' is a required property`;
			for (const [k, x] of Object.entries(v)) {
				const s = schema.properties[k] ?? schema.additional;
				if (!s) return `${at}: Additional properties are not allowed ('${k}' was unexpected)`;
				const p = validate(s, x, `${at}.${k}`);
				if (p) return p;
			}
			return undefined;
		}
	}
}

/** Compares microversions `a` and `b` ("2.52"): negative when a < b. */
export function compareVersions(a: string, b: string): number {
	const [am, an] = a.split(".").map(Number);
	const [bm, bn] = b.split(".").map(Number);
	return am! - bm! || an! - bn!;
}
